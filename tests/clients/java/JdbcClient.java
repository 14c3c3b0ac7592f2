// pgjdbc (the PostgreSQL JDBC driver) against a forge-sql server, run by
// tests/integration/clients/test_pgjdbc.py: each check prints one JSON line, the test asserts on it.

import java.math.BigDecimal;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

public final class JdbcClient {

    /** One check: what it returns is printed as the "result" of its JSON line. */
    private interface Check {
        Object run() throws Exception;
    }

    private final String url;
    private final String prefix;
    /** The protocol messages pgjdbc logs at FINEST (" FE=> Parse(stmt=S_1,...)"). */
    private final List<String> frontend = Collections.synchronizedList(new ArrayList<>());

    private JdbcClient(String url, String prefix) {
        this.url = url;
        this.prefix = prefix;
    }

    public static void main(String[] args) {
        JdbcClient client = new JdbcClient(args[0], args[1]);
        client.captureProtocol();
        Map<String, Check> checks = new LinkedHashMap<>();
        checks.put("connect", client::connect);
        checks.put("simple_query", client::simpleQuery);
        checks.put("prepared_statement", client::preparedStatement);
        checks.put("binary_transfer", client::binaryTransfer);
        checks.put("fetch_size", client::fetchSize);
        checks.put("batch", client::batch);
        checks.put("rewritten_batch", client::rewrittenBatch);
        checks.put("string_unspecified", client::stringUnspecified);
        checks.put("statements", client::statements);
        checks.put("java_time", client::javaTime);
        checks.put("arrays", client::arrays);
        checks.put("generated_keys", client::generatedKeys);
        checks.put("transactions", client::transactions);
        checks.put("query_timeout", client::queryTimeout);
        checks.put("type_info", client::typeInfo);
        checks.put("schemas", client::schemas);
        checks.put("tables", client::tables);
        checks.put("columns", client::columns);
        checks.put("primary_keys", client::primaryKeys);
        checks.put("table_privileges", client::tablePrivileges);
        List<String> wanted = Arrays.asList(args).subList(2, args.length);
        for (Map.Entry<String, Check> check : checks.entrySet()) {
            if (!wanted.isEmpty() && !wanted.contains(check.getKey())) {
                continue;
            }
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("check", check.getKey());
            try {
                line.put("result", check.getValue().run());
            } catch (SQLException e) {
                line.put("error", e.getMessage());
                line.put("sqlstate", e.getSQLState());
            } catch (Exception e) {
                line.put("error", e.toString());
            }
            System.out.println(Json.of(line));
        }
    }

    private void captureProtocol() {
        Logger logger = Logger.getLogger("org.postgresql");
        logger.setLevel(Level.FINEST);
        logger.setUseParentHandlers(false);
        SimpleFormatter formatter = new SimpleFormatter();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord record) {
                String message = formatter.formatMessage(record);
                if (message.startsWith(" FE=> ")) {
                    frontend.add(message.substring(6));
                }
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        handler.setLevel(Level.FINEST);
        logger.addHandler(handler);
    }

    private Connection open(String options) throws SQLException {
        return DriverManager.getConnection(url + options);
    }

    /** Messages logged since ``before`` was marked that start with one of ``kinds``. */
    private List<String> sent(List<String> before, String... kinds) {
        List<String> found = new ArrayList<>();
        synchronized (frontend) {
            for (String message : frontend.subList(before.size(), frontend.size())) {
                for (String kind : kinds) {
                    if (message.startsWith(kind)) {
                        found.add(message);
                    }
                }
            }
        }
        return found;
    }

    private List<String> mark() {
        synchronized (frontend) {
            return new ArrayList<>(frontend);
        }
    }

    // -- checks ---------------------------------------------------------------------------

    private Object connect() throws SQLException {
        try (Connection con = open("")) {
            DatabaseMetaData meta = con.getMetaData();
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("driver", meta.getDriverName());
            out.put("driver_version", meta.getDriverVersion());
            out.put("product", meta.getDatabaseProductName());
            out.put("product_major", meta.getDatabaseMajorVersion());
            out.put("catalog", con.getCatalog());
            out.put("schema", con.getSchema());
            out.put("autocommit", con.getAutoCommit());
            out.put("isolation", con.getTransactionIsolation());
            out.put("valid", con.isValid(5));
            return out;
        }
    }

    private Object simpleQuery() throws SQLException {
        String table = prefix + "_simple";
        try (Connection con = open(""); Statement st = con.createStatement()) {
            Map<String, Object> out = new LinkedHashMap<>();
            st.execute("CREATE TABLE " + table + " (id INTEGER, name VARCHAR, amount DOUBLE)");
            out.put("inserted", st.executeUpdate(
                    "INSERT INTO " + table + " VALUES (1, 'one', 1.5), (2, NULL, NULL)"));
            try (ResultSet rs = st.executeQuery("SELECT * FROM " + table + " ORDER BY id")) {
                out.put("columns", columnsOf(rs.getMetaData()));
                out.put("rows", rows(rs));
            }
            out.put("updated", st.executeUpdate(
                    "UPDATE " + table + " SET name = 'two' WHERE id = 2"));
            try (ResultSet rs = st.executeQuery("SELECT name FROM " + table + " WHERE id = 2")) {
                out.put("after_update", rows(rs));
            }
            return out;
        }
    }

    private Object preparedStatement() throws Exception {
        String table = prefix + "_prepared";
        List<String> before = mark();
        try (Connection con = open("")) {
            try (Statement st = con.createStatement()) {
                st.execute("CREATE TABLE " + table
                        + " (id INTEGER, name VARCHAR, at_time TIMESTAMP, flag BOOLEAN,"
                        + " score DOUBLE)");
            }
            Map<String, Object> out = new LinkedHashMap<>();
            List<Object> serverPrepared = new ArrayList<>();
            try (PreparedStatement insert = con.prepareStatement(
                    "INSERT INTO " + table + " VALUES (?, ?, ?, ?, ?)")) {
                for (int i = 1; i <= 8; i++) {
                    insert.setInt(1, i);
                    if (i == 8) {
                        insert.setNull(2, Types.VARCHAR);
                        insert.setNull(3, Types.TIMESTAMP);
                        insert.setNull(4, Types.BOOLEAN);
                        insert.setNull(5, Types.DOUBLE);
                    } else {
                        insert.setString(2, "name " + i);
                        insert.setTimestamp(3, Timestamp.valueOf("2024-01-0" + i + " 10:20:30.5"));
                        insert.setBoolean(4, i % 2 == 0);
                        insert.setDouble(5, i / 4.0);
                    }
                    insert.executeUpdate();
                    serverPrepared.add(insert.unwrap(org.postgresql.PGStatement.class)
                            .isUseServerPrepare());
                }
            }
            out.put("insert_server_prepared", serverPrepared);
            List<Object> read = new ArrayList<>();
            try (PreparedStatement select = con.prepareStatement(
                    "SELECT id, name, at_time, flag, score FROM " + table + " WHERE id = ?")) {
                for (int i = 1; i <= 8; i++) {
                    select.setInt(1, i);
                    try (ResultSet rs = select.executeQuery()) {
                        rs.next();
                        Timestamp at = rs.getTimestamp(3);
                        boolean flag = rs.getBoolean(4);
                        boolean flagNull = rs.wasNull();
                        double score = rs.getDouble(5);
                        read.add(Arrays.asList(rs.getInt(1), rs.getString(2),
                                at == null ? null : at.toString(), flagNull ? null : flag,
                                rs.wasNull() ? null : score));
                    }
                }
            }
            out.put("rows", read);
            out.put("parses", sent(before, "Parse("));
            return out;
        }
    }

    private Object binaryTransfer() throws Exception {
        // prepareThreshold=-1: binary results and named statements from the first execution.
        List<String> before = mark();
        try (Connection con = open("&binaryTransfer=true&prepareThreshold=-1");
             PreparedStatement st = con.prepareStatement(
                     "SELECT CAST(? AS SMALLINT) AS i2, CAST(? AS INTEGER) AS i4,"
                     + " CAST(? AS BIGINT) AS i8, CAST(? AS REAL) AS f4,"
                     + " CAST(? AS DOUBLE) AS f8, CAST(? AS DECIMAL(12,3)) AS num,"
                     + " CAST(? AS BOOLEAN) AS b, CAST(? AS VARCHAR) AS txt,"
                     + " CAST(? AS BLOB) AS bin, CAST(? AS DATE) AS day,"
                     + " CAST(? AS TIMESTAMP) AS ts, CAST(? AS UUID) AS id,"
                     + " [1, 2, NULL] AS ints, ['a', 'b c'] AS words")) {
            st.setShort(1, (short) -7);
            st.setInt(2, 2147483647);
            st.setLong(3, -9223372036854775807L);
            st.setFloat(4, 0.25f);
            st.setDouble(5, 1e-300);
            st.setBigDecimal(6, new BigDecimal("-123456789.125"));
            st.setBoolean(7, true);
            st.setString(8, "héllo ✓");
            st.setBytes(9, new byte[] {0, 1, (byte) 0xff});
            st.setDate(10, java.sql.Date.valueOf("2024-02-29"));
            st.setTimestamp(11, Timestamp.valueOf("2024-05-06 07:08:09.123456"));
            st.setObject(12, java.util.UUID.fromString("a8d1e230-300f-4f32-8210-c377328aff0d"));
            Map<String, Object> out = new LinkedHashMap<>();
            try (ResultSet rs = st.executeQuery()) {
                out.put("columns", columnsOf(rs.getMetaData()));
                org.postgresql.PGResultSetMetaData pgMeta =
                        rs.getMetaData().unwrap(org.postgresql.PGResultSetMetaData.class);
                List<Object> formats = new ArrayList<>();
                for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                    formats.add(pgMeta.getFormat(i));
                }
                out.put("formats", formats);
                rs.next();
                out.put("i2", rs.getShort(1));
                out.put("i4", rs.getInt(2));
                out.put("i8", rs.getLong(3));
                out.put("f4", rs.getFloat(4));
                out.put("f8", rs.getDouble(5));
                out.put("num", rs.getBigDecimal(6).toPlainString());
                out.put("b", rs.getBoolean(7));
                out.put("txt", rs.getString(8));
                out.put("bin", hex(rs.getBytes(9)));
                out.put("day", rs.getDate(10).toString());
                out.put("ts", rs.getTimestamp(11).toString());
                out.put("id", rs.getObject(12).toString());
                out.put("ints", arrayOf(rs.getArray(13)));
                out.put("words", arrayOf(rs.getArray(14)));
            }
            out.put("messages", sent(before, "Parse(", "Bind("));
            return out;
        }
    }

    private Object fetchSize() throws Exception {
        String table = prefix + "_fetch";
        List<String> before = mark();
        try (Connection con = open("")) {
            try (Statement st = con.createStatement()) {
                st.execute("CREATE TABLE " + table + " AS SELECT i, 'row ' || i AS label"
                        + " FROM generate_series(1, 25) AS g(i)");
            }
            con.setAutoCommit(false);
            List<Object> ids = new ArrayList<>();
            try (Statement st = con.createStatement()) {
                st.setFetchSize(10);
                try (ResultSet rs = st.executeQuery(
                        "SELECT i, label FROM " + table + " ORDER BY i")) {
                    while (rs.next()) {
                        ids.add(rs.getInt(1));
                    }
                }
            }
            con.commit();
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("ids", ids);
            out.put("executes", sent(before, "Execute("));
            return out;
        }
    }

    private Object batch() throws SQLException {
        String table = prefix + "_batch";
        try (Connection con = open("")) {
            Map<String, Object> out = new LinkedHashMap<>();
            try (Statement st = con.createStatement()) {
                st.execute("CREATE TABLE " + table + " (id INTEGER, name VARCHAR)");
            }
            con.setAutoCommit(false);
            try (PreparedStatement insert = con.prepareStatement(
                    "INSERT INTO " + table + " (id, name) VALUES (?, ?)")) {
                for (int i = 1; i <= 50; i++) {
                    insert.setInt(1, i);
                    insert.setString(2, i % 10 == 0 ? null : "n" + i);
                    insert.addBatch();
                }
                out.put("prepared_counts", countsOf(insert.executeBatch()));
            }
            try (Statement st = con.createStatement()) {
                st.addBatch("INSERT INTO " + table + " VALUES (51, 'x')");
                st.addBatch("UPDATE " + table + " SET name = 'ten' WHERE id = 10");
                st.addBatch("DELETE FROM " + table + " WHERE id > 45");
                out.put("statement_counts", countsOf(st.executeBatch()));
            }
            con.commit();
            try (Statement st = con.createStatement(); ResultSet rs = st.executeQuery(
                    "SELECT count(*), count(name), max(id), min(name) FROM " + table)) {
                out.put("summary", rows(rs));
            }
            return out;
        }
    }

    private Object schemas() throws SQLException {
        try (Connection con = open("")) {
            DatabaseMetaData meta = con.getMetaData();
            Map<String, Object> out = new LinkedHashMap<>();
            try (ResultSet rs = meta.getCatalogs()) {
                out.put("catalogs", rows(rs));
            }
            try (ResultSet rs = meta.getSchemas()) {
                out.put("columns", labelsOf(rs.getMetaData()));
                out.put("rows", rows(rs));
            }
            return out;
        }
    }

    private Object tables() throws SQLException {
        try (Connection con = open("")) {
            DatabaseMetaData meta = con.getMetaData();
            Map<String, Object> out = new LinkedHashMap<>();
            try (ResultSet rs = meta.getTableTypes()) {
                out.put("types", rows(rs));
            }
            try (ResultSet rs = meta.getTables(null, "public", prefix + "\\_meta%",
                    new String[] {"TABLE", "VIEW"})) {
                out.put("columns", labelsOf(rs.getMetaData()));
                out.put("rows", pick(rs, "TABLE_CAT", "TABLE_SCHEM", "TABLE_NAME",
                        "TABLE_TYPE", "REMARKS"));
            }
            return out;
        }
    }

    /** What a (non-superuser) role sees of tables named prefix_priv%: listed tables, grants. */
    private Object tablePrivileges() throws SQLException {
        try (Connection con = open("")) {
            DatabaseMetaData meta = con.getMetaData();
            Map<String, Object> out = new LinkedHashMap<>();
            try (ResultSet rs = meta.getTables(null, "public", prefix + "\\_priv%",
                    new String[] {"TABLE", "VIEW"})) {
                out.put("tables", pick(rs, "TABLE_NAME", "TABLE_TYPE"));
            }
            try (ResultSet rs = meta.getTablePrivileges(null, "public", prefix + "\\_priv%")) {
                out.put("privileges", pick(rs, "TABLE_NAME", "GRANTOR", "GRANTEE", "PRIVILEGE",
                        "IS_GRANTABLE"));
            }
            return out;
        }
    }

    private Object columns() throws SQLException {
        try (Connection con = open("")) {
            try (ResultSet rs = con.getMetaData().getColumns(null, "public", prefix + "_meta",
                    "%")) {
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("rows", pick(rs, "TABLE_NAME", "COLUMN_NAME", "DATA_TYPE", "TYPE_NAME",
                        "COLUMN_SIZE", "DECIMAL_DIGITS", "NULLABLE", "IS_NULLABLE",
                        "ORDINAL_POSITION", "COLUMN_DEF", "REMARKS", "IS_AUTOINCREMENT",
                        "IS_GENERATEDCOLUMN"));
                return out;
            }
        }
    }

    private Object primaryKeys() throws SQLException {
        try (Connection con = open("")) {
            try (ResultSet rs = con.getMetaData().getPrimaryKeys(null, "public",
                    prefix + "_meta")) {
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("rows", pick(rs, "TABLE_SCHEM", "TABLE_NAME", "COLUMN_NAME", "KEY_SEQ",
                        "PK_NAME"));
                return out;
            }
        }
    }

    private Object rewrittenBatch() throws SQLException {
        // reWriteBatchedInserts=true: pgjdbc folds the batch into multi-row VALUES lists.
        String table = prefix + "_rewritten";
        List<String> before = mark();
        try (Connection con = open("&reWriteBatchedInserts=true")) {
            try (Statement st = con.createStatement()) {
                st.execute("CREATE TABLE " + table + " (id INTEGER, name VARCHAR, score DOUBLE)");
            }
            try (PreparedStatement insert = con.prepareStatement(
                    "INSERT INTO " + table + " (id, name, score) VALUES (?, ?, ?)")) {
                for (int i = 1; i <= 37; i++) {
                    insert.setInt(1, i);
                    insert.setString(2, "n" + i);
                    insert.setDouble(3, i * 0.5);
                    insert.addBatch();
                }
                insert.executeBatch();
            }
            Map<String, Object> out = new LinkedHashMap<>();
            try (Statement st = con.createStatement(); ResultSet rs = st.executeQuery(
                    "SELECT count(*), sum(id), max(name), sum(score) FROM " + table)) {
                out.put("summary", rows(rs));
            }
            int widest = 0;
            for (String parse : sent(before, "Parse(")) {
                if (parse.contains("INSERT INTO " + table)) {
                    widest = Math.max(widest, parse.split("\\),\\(", -1).length);
                }
            }
            out.put("widest_values_list", widest);
            return out;
        }
    }

    private Object stringUnspecified() throws SQLException {
        // stringtype=unspecified (set by many BI tools): setString binds with OID 0 and the
        // server infers each parameter's type from where it stands.
        String table = prefix + "_unspecified";
        try (Connection con = open("&stringtype=unspecified")) {
            try (Statement st = con.createStatement()) {
                st.execute("CREATE TABLE " + table + " (id INTEGER, day DATE, amount DECIMAL(8,2),"
                        + " flag BOOLEAN)");
            }
            try (PreparedStatement insert = con.prepareStatement(
                    "INSERT INTO " + table + " VALUES (?, ?, ?, ?)")) {
                insert.setString(1, "42");
                insert.setString(2, "2024-02-29");
                insert.setString(3, "12.5");
                insert.setString(4, "true");
                insert.executeUpdate();
            }
            Map<String, Object> out = new LinkedHashMap<>();
            try (PreparedStatement select = con.prepareStatement(
                    "SELECT id, day, amount, flag FROM " + table + " WHERE id = ? AND day >= ?")) {
                select.setString(1, "42");
                select.setString(2, "2024-01-01");
                try (ResultSet rs = select.executeQuery()) {
                    out.put("columns", columnsOf(rs.getMetaData()));
                    out.put("rows", rows(rs));
                }
            }
            return out;
        }
    }

    private Object statements() throws SQLException {
        // Several statements in one execute(), setMaxRows (Execute with a row limit) and the
        // server's NOTICE as an SQLWarning, as a SQL editor shows them.
        String table = prefix + "_notice";
        try (Connection con = open(""); Statement st = con.createStatement()) {
            Map<String, Object> out = new LinkedHashMap<>();
            List<Object> results = new ArrayList<>();
            boolean isResult = st.execute("SELECT 1 AS a; SELECT 'x' AS b, 2 AS c");
            while (true) {
                if (isResult) {
                    try (ResultSet rs = st.getResultSet()) {
                        results.add(Arrays.asList(labelsOf(rs.getMetaData()), rows(rs)));
                    }
                } else if (st.getUpdateCount() == -1) {
                    break;
                }
                isResult = st.getMoreResults();
            }
            out.put("results", results);
            st.setMaxRows(3);
            try (ResultSet rs = st.executeQuery("SELECT i FROM range(10) AS r(i) ORDER BY i")) {
                out.put("max_rows", rows(rs));
            }
            st.setMaxRows(0);
            st.execute("CREATE TABLE " + table + " (id INTEGER PRIMARY KEY)");
            List<Object> warnings = new ArrayList<>();
            for (java.sql.SQLWarning w = st.getWarnings(); w != null; w = w.getNextWarning()) {
                warnings.add(Arrays.asList(w.getSQLState(), w.getMessage()));
            }
            out.put("warnings", warnings);
            return out;
        }
    }

    private Object javaTime() throws SQLException {
        // pgjdbc binds java.time values with their own type OIDs (timestamp, timestamptz,
        // date, time) rather than leaving them to the server.
        String table = prefix + "_time";
        try (Connection con = open("")) {
            try (Statement st = con.createStatement()) {
                st.execute("CREATE TABLE " + table
                        + " (at_local TIMESTAMP, at_zone TIMESTAMPTZ, day DATE, clock TIME)");
            }
            try (PreparedStatement insert = con.prepareStatement(
                    "INSERT INTO " + table + " VALUES (?, ?, ?, ?)")) {
                insert.setObject(1, java.time.LocalDateTime.of(2024, 2, 29, 23, 59, 58, 123456000));
                insert.setObject(2, java.time.OffsetDateTime.of(2024, 6, 30, 12, 0, 0, 0,
                        java.time.ZoneOffset.ofHours(2)));
                insert.setObject(3, java.time.LocalDate.of(1999, 12, 31));
                insert.setObject(4, java.time.LocalTime.of(1, 2, 3));
                insert.executeUpdate();
            }
            Map<String, Object> out = new LinkedHashMap<>();
            try (Statement st = con.createStatement();
                 ResultSet rs = st.executeQuery("SELECT * FROM " + table)) {
                rs.next();
                out.put("at_local", rs.getObject(1, java.time.LocalDateTime.class).toString());
                out.put("at_zone", rs.getObject(2, java.time.OffsetDateTime.class)
                        .toInstant().toString());
                out.put("day", rs.getObject(3, java.time.LocalDate.class).toString());
                out.put("clock", rs.getObject(4, java.time.LocalTime.class).toString());
            }
            return out;
        }
    }

    private Object arrays() throws SQLException {
        String table = prefix + "_arrays";
        try (Connection con = open("")) {
            try (Statement st = con.createStatement()) {
                st.execute("CREATE TABLE " + table + " (id INTEGER, ints INTEGER[], words VARCHAR[])");
            }
            try (PreparedStatement insert = con.prepareStatement(
                    "INSERT INTO " + table + " VALUES (?, ?, ?)")) {
                insert.setInt(1, 1);
                insert.setArray(2, con.createArrayOf("int4", new Integer[] {1, null, 3}));
                insert.setArray(3, con.createArrayOf("text",
                        new String[] {"a", "b c", "with \"quote\"", null, "{x,y}"}));
                insert.executeUpdate();
            }
            Map<String, Object> out = new LinkedHashMap<>();
            try (PreparedStatement select = con.prepareStatement(
                    "SELECT ints, words FROM " + table + " WHERE id = ?")) {
                select.setInt(1, 1);
                try (ResultSet rs = select.executeQuery()) {
                    rs.next();
                    out.put("ints", arrayOf(rs.getArray(1)));
                    out.put("words", arrayOf(rs.getArray(2)));
                    out.put("base_type", rs.getArray(1).getBaseTypeName());
                }
            }
            return out;
        }
    }

    private Object generatedKeys() throws SQLException {
        // RETURN_GENERATED_KEYS makes pgjdbc append RETURNING * to the INSERT.
        String table = prefix + "_keys";
        try (Connection con = open("")) {
            try (Statement st = con.createStatement()) {
                st.execute("CREATE TABLE " + table + " (id INTEGER, name VARCHAR)");
            }
            try (PreparedStatement insert = con.prepareStatement(
                    "INSERT INTO " + table + " (id, name) VALUES (?, ?)",
                    Statement.RETURN_GENERATED_KEYS)) {
                insert.setInt(1, 7);
                insert.setString(2, "seven");
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("count", insert.executeUpdate());
                try (ResultSet keys = insert.getGeneratedKeys()) {
                    out.put("keys", rows(keys));
                }
                return out;
            }
        }
    }

    private Object transactions() throws SQLException {
        String table = prefix + "_tx";
        try (Connection con = open("")) {
            try (Statement st = con.createStatement()) {
                st.execute("CREATE TABLE " + table + " (id INTEGER)");
            }
            Map<String, Object> out = new LinkedHashMap<>();
            con.setAutoCommit(false);
            try (Statement st = con.createStatement()) {
                st.executeUpdate("INSERT INTO " + table + " VALUES (1)");
                con.rollback();
                st.executeUpdate("INSERT INTO " + table + " VALUES (2)");
                con.commit();
                try {
                    st.executeQuery("SELECT * FROM " + prefix + "_no_such_table");
                } catch (SQLException e) {
                    out.put("error", e.getSQLState());
                }
                try {
                    st.executeQuery("SELECT 1");
                } catch (SQLException e) {
                    out.put("after_error", e.getSQLState());
                }
                con.rollback();
                con.setReadOnly(true);
                try (ResultSet rs = st.executeQuery("SELECT id FROM " + table)) {
                    out.put("rows", rows(rs));
                }
                con.commit();
            }
            return out;
        }
    }

    private Object queryTimeout() throws SQLException {
        // pgjdbc's timer sends a CancelRequest on its own connection.
        try (Connection con = open(""); Statement st = con.createStatement()) {
            st.setQueryTimeout(1);
            long start = System.nanoTime();
            Map<String, Object> out = new LinkedHashMap<>();
            try {
                st.executeQuery("SELECT count(*) FROM range(1000000000000) AS r(i)"
                        + " WHERE i % 7 = 3");
                out.put("finished", true);
            } catch (SQLException e) {
                out.put("sqlstate", e.getSQLState());
            }
            out.put("seconds", (System.nanoTime() - start) / 1e9);
            try (ResultSet rs = st.executeQuery("SELECT 2")) {
                out.put("after", rows(rs));
            }
            return out;
        }
    }

    private Object typeInfo() throws SQLException {
        // DBeaver's generic driver reads getTypeInfo() on connect.
        try (Connection con = open(""); ResultSet rs = con.getMetaData().getTypeInfo()) {
            Map<String, Object> types = new LinkedHashMap<>();
            while (rs.next()) {
                types.put(rs.getString("TYPE_NAME"), rs.getInt("DATA_TYPE"));
            }
            return types;
        }
    }

    // -- reading results ------------------------------------------------------------------

    private static List<Object> columnsOf(ResultSetMetaData meta) throws SQLException {
        List<Object> columns = new ArrayList<>();
        for (int i = 1; i <= meta.getColumnCount(); i++) {
            columns.add(Arrays.asList(meta.getColumnLabel(i), meta.getColumnTypeName(i),
                    meta.getColumnType(i)));
        }
        return columns;
    }

    private static List<Object> labelsOf(ResultSetMetaData meta) throws SQLException {
        List<Object> labels = new ArrayList<>();
        for (int i = 1; i <= meta.getColumnCount(); i++) {
            labels.add(meta.getColumnLabel(i));
        }
        return labels;
    }

    private static List<Object> rows(ResultSet rs) throws SQLException {
        List<Object> rows = new ArrayList<>();
        int width = rs.getMetaData().getColumnCount();
        while (rs.next()) {
            List<Object> row = new ArrayList<>();
            for (int i = 1; i <= width; i++) {
                row.add(rs.getObject(i));
            }
            rows.add(row);
        }
        return rows;
    }

    private static List<Object> pick(ResultSet rs, String... names) throws SQLException {
        List<Object> rows = new ArrayList<>();
        while (rs.next()) {
            Map<String, Object> row = new LinkedHashMap<>();
            for (String name : names) {
                row.put(name, rs.getObject(name));
            }
            rows.add(row);
        }
        return rows;
    }

    private static List<Object> countsOf(int[] counts) {
        List<Object> list = new ArrayList<>();
        for (int count : counts) {
            list.add(count);
        }
        return list;
    }

    private static List<Object> arrayOf(Array array) throws SQLException {
        return Arrays.asList((Object[]) array.getArray());
    }

    private static String hex(byte[] bytes) {
        StringBuilder out = new StringBuilder();
        for (byte b : bytes) {
            out.append(String.format("%02x", b));
        }
        return out.toString();
    }

    /** Just enough JSON for the values the checks return. */
    private static final class Json {
        static String of(Object value) {
            StringBuilder out = new StringBuilder();
            write(out, value);
            return out.toString();
        }

        private static void write(StringBuilder out, Object value) {
            if (value == null) {
                out.append("null");
            } else if (value instanceof Boolean || value instanceof Integer
                    || value instanceof Long || value instanceof Short) {
                out.append(value);
            } else if (value instanceof Double || value instanceof Float) {
                out.append(Double.toString(((Number) value).doubleValue()));
            } else if (value instanceof Map) {
                out.append('{');
                String separator = "";
                for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
                    out.append(separator);
                    write(out, entry.getKey().toString());
                    out.append(':');
                    write(out, entry.getValue());
                    separator = ",";
                }
                out.append('}');
            } else if (value instanceof List) {
                out.append('[');
                String separator = "";
                for (Object item : (List<?>) value) {
                    out.append(separator);
                    write(out, item);
                    separator = ",";
                }
                out.append(']');
            } else {
                // Everything else as its text: BigDecimal, dates, strings.
                String text = value.toString();
                out.append('"');
                for (char c : text.toCharArray()) {
                    if (c == '"' || c == '\\') {
                        out.append('\\').append(c);
                    } else if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
                out.append('"');
            }
        }
    }
}
