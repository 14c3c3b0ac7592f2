"""The extension API: decorators for UDFs and table functions, discovery of extensions/."""
