-- an order's total must be its subtotal plus the tax paid on it
-- (returns the failing rows; the test passes when none are returned)

select
    order_id,
    subtotal,
    tax_paid,
    order_total

from {{ ref('orders') }}

where order_total != subtotal + tax_paid
