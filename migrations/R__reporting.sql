-- Reporting views, re-created whenever this file changes.
CREATE OR REPLACE VIEW revenue_by_city AS
SELECT c.city, sum(o.quantity * p.price) AS revenue, count(*) AS order_lines
FROM orders o
JOIN customers c ON c.id = o.customer_id
JOIN products p ON p.sku = o.sku
GROUP BY c.city;

CREATE OR REPLACE VIEW monthly_sales AS
SELECT date_trunc('month', o.ordered_at) AS month, p.category,
       sum(o.quantity * p.price) AS revenue
FROM orders o JOIN products p ON p.sku = o.sku
GROUP BY ALL;

-- A Python function of the example extension (extensions/example.py) in a view.
CREATE OR REPLACE VIEW product_pages AS
SELECT sku, title, slugify(title) AS slug FROM products;
