-- A model trained on the demo data (extensions/ml, docs/ml.md): will an order line be
-- for three or more items? A linear model trains in about a second.
SELECT * FROM ml.train(
    'order_size', 'classification',
    'SELECT o.quantity >= 3 AS big, p.category, p.price, c.city, c.segment, o.ordered_at
       FROM orders o JOIN products p ON p.sku = o.sku JOIN customers c ON c.id = o.customer_id',
    'big', algorithm => 'linear');

-- migrate:down
SELECT ml.drop_project('order_size');
