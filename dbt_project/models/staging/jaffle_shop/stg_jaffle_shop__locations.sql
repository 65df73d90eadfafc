with

source as (

    select * from {{ source('raw_jaffle_shop', 'stores') }}

),

renamed as (

    select

        ----------  ids
        id as location_id,

        ---------- text
        name as location_name,

        ---------- numerics
        tax_rate,

        ---------- timestamps
        opened_at,
        cast(opened_at as date) as opened_date

    from source

)

select * from renamed
