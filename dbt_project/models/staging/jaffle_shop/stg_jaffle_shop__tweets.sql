with

source as (

    select * from {{ source('raw_jaffle_shop', 'tweets') }}

),

renamed as (

    select

        ----------  ids
        id as tweet_id,
        user_id as customer_id,

        ---------- text
        content as tweet_content,

        ---------- timestamps
        tweeted_at

    from source

)

select * from renamed
