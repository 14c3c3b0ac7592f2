-- Orders, written as SQL. The part after `-- migrate:down` undoes it.
CREATE TABLE orders (
    id BIGINT NOT NULL,
    customer_id BIGINT NOT NULL,
    sku VARCHAR NOT NULL,
    quantity INTEGER NOT NULL,
    ordered_at TIMESTAMP WITH TIME ZONE NOT NULL
);
ALTER TABLE orders SET PARTITIONED BY (year(ordered_at));
COMMENT ON TABLE orders IS 'One line per product ordered.';

-- migrate:down
DROP TABLE orders;
