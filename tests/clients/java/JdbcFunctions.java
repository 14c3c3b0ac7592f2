// pgjdbc's DatabaseMetaData for functions (getFunctions, getFunctionColumns, getProcedures,
// getProcedureColumns), as DBeaver and other JDBC tools browse them; run by
// tests/integration/test_extensions_clients.py. Each check prints one JSON line whose
// result is the rows, each row the listed columns as strings.

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

public final class JdbcFunctions {

    private interface Query {
        ResultSet run(DatabaseMetaData meta) throws SQLException;
    }

    public static void main(String[] args) throws Exception {
        String url = args[0];
        String schema = args[1];
        try (Connection conn = DriverManager.getConnection(url)) {
            DatabaseMetaData meta = conn.getMetaData();
            check("functions", meta, m -> m.getFunctions(null, schema, "%"),
                  "FUNCTION_SCHEM", "FUNCTION_NAME", "REMARKS", "FUNCTION_TYPE", "SPECIFIC_NAME");
            check("function_columns", meta, m -> m.getFunctionColumns(null, schema, "%", "%"),
                  "FUNCTION_NAME", "COLUMN_NAME", "COLUMN_TYPE", "DATA_TYPE", "TYPE_NAME",
                  "ORDINAL_POSITION", "SPECIFIC_NAME");
            check("procedures", meta, m -> m.getProcedures(null, schema, "%"),
                  "PROCEDURE_SCHEM", "PROCEDURE_NAME", "REMARKS", "PROCEDURE_TYPE");
            check("procedure_columns", meta, m -> m.getProcedureColumns(null, schema, "%", "%"),
                  "PROCEDURE_NAME", "COLUMN_NAME", "COLUMN_TYPE", "DATA_TYPE", "TYPE_NAME");
        }
    }

    private static void check(String name, DatabaseMetaData meta, Query query, String... columns) {
        StringBuilder line = new StringBuilder("{\"check\": ").append(quote(name)).append(", ");
        try (ResultSet rs = query.run(meta)) {
            List<String> rows = new ArrayList<>();
            while (rs.next()) {
                List<String> values = new ArrayList<>();
                for (String column : columns) {
                    values.add(quote(rs.getString(column)));
                }
                rows.add("[" + String.join(", ", values) + "]");
            }
            line.append("\"result\": [").append(String.join(", ", rows)).append("]}");
        } catch (SQLException e) {
            line.append("\"error\": ").append(quote(e.getSQLState() + ": " + e.getMessage()))
                .append("}");
        }
        System.out.println(line);
    }

    private static String quote(String value) {
        if (value == null) {
            return "null";
        }
        StringBuilder out = new StringBuilder("\"");
        for (char c : value.toCharArray()) {
            switch (c) {
                case '"': out.append("\\\""); break;
                case '\\': out.append("\\\\"); break;
                case '\n': out.append("\\n"); break;
                case '\r': out.append("\\r"); break;
                case '\t': out.append("\\t"); break;
                default:
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
            }
        }
        return out.append('"').toString();
    }
}
