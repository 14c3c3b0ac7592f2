"""Demo rows, generated (no download): customers, products and a year of orders."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

CITIES = ["Lyon", "Lisbon", "Oslo", "Porto", "Turin", "Ghent", "Leeds", "Graz"]
CATEGORIES = {
    "coffee": ["Espresso beans", "Filter roast", "Decaf"],
    "tea": ["Sencha", "Assam", "Rooibos"],
    "gear": ["Grinder", "Kettle", "Dripper"],
}


def up(conn):
    rng = random.Random(5)  # the same demo data on every machine
    conn.executemany(
        "INSERT INTO customers (id, name, mail, city, signed_up) VALUES ($1, $2, $3, $4, $5)",
        [
            (i, f"Customer {i}", f"customer{i}@example.com", rng.choice(CITIES),
             date(2024, 1, 1) + timedelta(days=rng.randrange(365)))
            for i in range(1, 201)
        ],
    )
    products = []
    for category, titles in CATEGORIES.items():
        for n, title in enumerate(titles, 1):
            price = round(rng.uniform(4, 120), 2)
            products.append((f"{category[:3].upper()}-{n:03d}", title, category, price))
    conn.executemany(
        "INSERT INTO products (sku, title, category, price) VALUES ($1, $2, $3, $4)", products
    )
    start = datetime(2025, 1, 1, tzinfo=UTC)
    conn.executemany(
        "INSERT INTO orders (id, customer_id, sku, quantity, ordered_at) "
        "VALUES ($1, $2, $3, $4, $5)",
        [
            (i, rng.randint(1, 200), rng.choice(products)[0], rng.randint(1, 4),
             start + timedelta(minutes=rng.randrange(365 * 24 * 60)))
            for i in range(1, 5001)
        ],
    )


def down(conn):
    conn.execute("DELETE FROM orders WHERE id <= 5000")
    conn.execute("DELETE FROM products")
    conn.execute("DELETE FROM customers WHERE id <= 200")
