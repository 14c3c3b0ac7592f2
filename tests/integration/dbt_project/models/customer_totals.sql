{{ config(materialized='table') }}

select
    c.id as customer_id,
    c.name,
    c.country,
    count(o.order_id) as order_count,
    coalesce(sum(o.amount_cents), 0) as total_cents,
    sum(case when o.status = 'shipped' then o.amount_cents else 0 end) as shipped_cents
from {{ ref('customers') }} as c
left join {{ ref('stg_orders') }} as o on o.customer_id = c.id
group by c.id, c.name, c.country
