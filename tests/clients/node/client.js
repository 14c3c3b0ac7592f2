// node-postgres (pg) against a forge-sql server, run by
// tests/integration/clients/test_node_postgres.py: each check prints one JSON line with the
// values pg returned and their JavaScript types, and the test asserts on them.
'use strict';

const pg = require('pg');

const [host, port, prefix, ...wanted] = process.argv.slice(2);
const config = { host, port: Number(port), user: 'forge', database: 'forge' };

// A value as pg handed it over: its JavaScript type and a JSON-safe form of it.
function describe(value) {
  if (value === null || value === undefined) return { type: 'null' };
  if (value instanceof Date) return { type: 'Date', value: value.toISOString() };
  if (Buffer.isBuffer(value)) return { type: 'Buffer', value: value.toString('hex') };
  if (Array.isArray(value)) return { type: 'Array', value: value.map(describe) };
  if (typeof value === 'object') {
    return { type: value.constructor.name, value: JSON.parse(JSON.stringify(value)) };
  }
  return { type: typeof value, value };
}

function describeRow(row) {
  const out = {};
  for (const [name, value] of Object.entries(row)) out[name] = describe(value);
  return out;
}

const fieldsOf = (result) => result.fields.map((f) => [f.name, f.dataTypeID]);

async function withClient(body) {
  const client = new pg.Client(config);
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

const checks = {
  // Text results parsed by column type OID, with pg's default parsers.
  types: () => withClient(async (client) => {
    const result = await client.query(`SELECT
        9007199254740993::BIGINT AS int8, 2147483647::INTEGER AS int4, (-32768)::SMALLINT AS int2,
        1.5::DOUBLE AS float8, 0.25::REAL AS float4, 12345678901234.56789::DECIMAL(20,5) AS num,
        true AS bool, 'héllo'::VARCHAR AS txt,
        TIMESTAMP '2024-01-02 03:04:05.678' AS ts,
        TIMESTAMPTZ '2024-01-02 03:04:05.678+02' AS tstz,
        DATE '2024-02-29' AS day,
        '{"a": [1, "x", null], "b": {"c": true}}'::JSON AS js,
        '{"k": 1}'::jsonb AS jsb,
        [1, NULL, 3]::INTEGER[] AS ints, ['a', 'b c', NULL, 'd,"e"'] AS words,
        [10000000000]::BIGINT[] AS bigs,
        'a8d1e230-300f-4f32-8210-c377328aff0d'::UUID AS id,
        NULL::INTEGER AS nothing`);
    return { fields: fieldsOf(result), row: describeRow(result.rows[0]) };
  }),

  // $1..$n with values of every JavaScript kind pg serialises.
  parameters: () => withClient(async (client) => {
    const table = `${prefix}_params`;
    await client.query(`CREATE TABLE ${table} (id INTEGER, name VARCHAR, amount DOUBLE,
        at_time TIMESTAMPTZ, day DATE, tags VARCHAR[], scores INTEGER[], doc JSON, flag BOOLEAN,
        raw BLOB)`);
    const insert = `INSERT INTO ${table} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`;
    const counts = [];
    for (const values of [
      [1, "it's", 2.5, new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)), '2024-02-29',
        ['x', 'y z'], [1, 2, 3], { nested: [1, 'two', null] }, true, Buffer.from([0, 1, 255])],
      [2, null, null, null, null, null, null, null, false, null],
    ]) {
      counts.push((await client.query(insert, values)).rowCount);
    }
    const byId = await client.query(`SELECT * FROM ${table} WHERE id = $1`, [1]);
    const byName = await client.query(
      `SELECT id FROM ${table} WHERE name = $1 OR amount > $2 ORDER BY id`, ["it's", 100]);
    const arithmetic = await client.query('SELECT $1 + 1 AS next, $2::TEXT AS echo', [41, 'x']);
    const nulls = await client.query(`SELECT count(*) AS n FROM ${table} WHERE name IS NULL`);
    return {
      counts,
      row: describeRow(byId.rows[0]),
      fields: fieldsOf(byId),
      by_name: byName.rows.map((r) => r.id),
      arithmetic: describeRow(arithmetic.rows[0]),
      null_names: describe(nulls.rows[0].n),
    };
  }),

  // A named prepared statement (Parse once, then Bind/Execute) run several times.
  prepared: () => withClient(async (client) => {
    const out = [];
    for (let i = 1; i <= 7; i++) {
      const result = await client.query({
        name: 'square', text: 'SELECT $1::INTEGER * $1::INTEGER AS square', values: [i],
      });
      out.push(result.rows[0].square);
    }
    return { squares: out };
  }),

  row_mode_array: () => withClient(async (client) => {
    const result = await client.query({
      text: "SELECT i, i * 2 AS twice, 'n' || i AS label, NULL AS nothing"
        + ' FROM (VALUES (1), (2), (3)) AS v(i) ORDER BY i',
      rowMode: 'array',
    });
    return { fields: result.fields.map((f) => f.name), rows: result.rows };
  }),

  pool: async () => {
    const pool = new pg.Pool({ ...config, max: 3 });
    try {
      const results = await Promise.all([1, 2, 3, 4, 5, 6].map(
        (i) => pool.query('SELECT $1::INTEGER * 10 AS tenfold, pg_backend_pid() AS pid', [i])));
      const client = await pool.connect();
      let inTransaction;
      try {
        await client.query('BEGIN');
        inTransaction = (await client.query('SELECT 42 AS answer')).rows[0].answer;
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      return {
        tenfold: results.map((r) => r.rows[0].tenfold),
        backends: new Set(results.map((r) => r.rows[0].pid)).size,
        total: pool.totalCount,
        in_transaction: inTransaction,
      };
    } finally {
      await pool.end();
    }
  },

  errors: () => withClient(async (client) => {
    let caught;
    try {
      await client.query(`SELECT * FROM ${prefix}_missing WHERE id = $1`, [1]);
    } catch (error) {
      caught = { code: error.code, message: error.message, severity: error.severity };
    }
    const after = await client.query('SELECT 1 AS still');
    return { error: caught, after: after.rows[0].still };
  }),
};

async function main() {
  for (const [name, check] of Object.entries(checks)) {
    if (wanted.length && !wanted.includes(name)) continue;
    let line;
    try {
      line = { check: name, result: await check() };
    } catch (error) {
      line = { check: name, error: error.message, code: error.code };
    }
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
}

main();
