"""The server side of extensions: discovery of extension files and entry points, the
registry of their functions, registration on the database and dispatch of calls."""
