-- every order must be counted once in its customer's lifetime order count
-- (returns the failing rows; the test passes when none are returned)

with

customers as (

    select sum(count_lifetime_orders) as total_customer_orders

    from {{ ref('customers') }}

),

orders as (

    select count(*) as total_orders

    from {{ ref('orders') }}

)

select *

from customers

cross join orders

where customers.total_customer_orders != orders.total_orders
