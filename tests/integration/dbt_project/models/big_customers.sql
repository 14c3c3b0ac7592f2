{{ config(materialized='view') }}

-- A view on a table model: rebuilding customer_totals drops it on PostgreSQL (CASCADE), and
-- dbt builds it again after, since it comes later in the graph.
select customer_id, name, total_cents
from {{ ref('customer_totals') }}
where total_cents >= 1000
