{{ config(materialized='view') }}

select
    id as order_id,
    customer_id,
    amount_cents,
    status,
    updated_at
from {{ ref('orders') }}
