/* Row framing for whole batches: the values of every column (already encoded, one Arrow
 * binary array or fixed-width buffer per column) laid out row after row as protocol
 * messages. The Python encoders in rows.py / text_out.py do the same with numpy and
 * Arrow joins; this is the compiled equivalent, byte for byte (tested against them).
 *
 * A column is a tuple (validity, offsets, data, offset, width):
 *   validity  Arrow validity bitmap (bit i: value i is not NULL), or None
 *   offsets   int32 (width -1) or int64 (width -2) value offsets, or None (width >= 0)
 *   data      value bytes
 *   offset    the array's offset, in values
 *   width     >= 0: every value is `width` bytes at data[(offset + i) * width]
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    Py_buffer validity, offsets, data;
    int has_validity, has_offsets, has_data;
    Py_ssize_t offset;
    Py_ssize_t width;
} Column;

static void release(Column *columns, Py_ssize_t count) {
    for (Py_ssize_t j = 0; j < count; j++) {
        if (columns[j].has_validity) PyBuffer_Release(&columns[j].validity);
        if (columns[j].has_offsets) PyBuffer_Release(&columns[j].offsets);
        if (columns[j].has_data) PyBuffer_Release(&columns[j].data);
    }
    PyMem_Free(columns);
}

static int get_buffer(PyObject *obj, Py_buffer *view, int *has) {
    *has = 0;
    if (obj == Py_None) return 0;
    if (PyObject_GetBuffer(obj, view, PyBUF_SIMPLE) < 0) return -1;
    *has = 1;
    return 0;
}

/* Parse the column tuples and check that every value of rows 0..n-1 lies in its buffers. */
static Column *parse_columns(PyObject *list, Py_ssize_t n, Py_ssize_t *count) {
    if (!PyList_Check(list)) {
        PyErr_SetString(PyExc_TypeError, "columns must be a list");
        return NULL;
    }
    *count = PyList_GET_SIZE(list);
    Column *columns = PyMem_Calloc((size_t)(*count > 0 ? *count : 1), sizeof(Column));
    if (columns == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t j = 0; j < *count; j++) {
        Column *c = &columns[j];
        PyObject *validity, *offsets, *data;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(list, j), "OOOnn", &validity, &offsets, &data,
                              &c->offset, &c->width) ||
            get_buffer(validity, &c->validity, &c->has_validity) < 0 ||
            get_buffer(offsets, &c->offsets, &c->has_offsets) < 0 ||
            get_buffer(data, &c->data, &c->has_data) < 0) {
            release(columns, j + 1);
            return NULL;
        }
        const char *fault = NULL;
        Py_ssize_t last = c->offset + n;
        if (c->offset < 0 || c->width < -2) {
            fault = "bad offset or width";
        } else if (c->has_validity && c->validity.len * 8 < last) {
            fault = "validity bitmap too short";
        } else if (c->width >= 0) {
            if (last * c->width > (c->has_data ? c->data.len : 0)) fault = "data too short";
        } else {
            Py_ssize_t item = c->width == -1 ? 4 : 8;
            if (!c->has_offsets || c->offsets.len < (last + 1) * item) {
                fault = "offsets too short";
            } else {
                /* Every offset in order and inside the data: values are copied unchecked. */
                const uint8_t *raw = (const uint8_t *)c->offsets.buf;
                int64_t limit = c->has_data ? c->data.len : 0, previous = 0;
                for (Py_ssize_t k = c->offset; k <= last && fault == NULL; k++) {
                    int64_t at = item == 4 ? ((const int32_t *)raw)[k] : ((const int64_t *)raw)[k];
                    if (at < (k == c->offset ? 0 : previous) || at > limit)
                        fault = "offsets outside the data or out of order";
                    previous = at;
                }
            }
        }
        if (fault != NULL) {
            PyErr_Format(PyExc_ValueError, "column %zd: %s", j, fault);
            release(columns, j + 1);
            return NULL;
        }
    }
    return columns;
}

static inline int is_valid(const Column *c, Py_ssize_t i) {
    if (!c->has_validity) return 1;
    Py_ssize_t bit = c->offset + i;
    return (((const uint8_t *)c->validity.buf)[bit >> 3] >> (bit & 7)) & 1;
}

/* The bytes of value i (parse_columns checked the offsets). */
static inline const char *value(const Column *c, Py_ssize_t i, Py_ssize_t *length) {
    const char *data = (const char *)c->data.buf;
    Py_ssize_t at = c->offset + i;
    if (c->width >= 0) {
        *length = c->width;
        return data + at * c->width;
    }
    int64_t start, stop;
    if (c->width == -1) {
        start = ((const int32_t *)c->offsets.buf)[at];
        stop = ((const int32_t *)c->offsets.buf)[at + 1];
    } else {
        start = ((const int64_t *)c->offsets.buf)[at];
        stop = ((const int64_t *)c->offsets.buf)[at + 1];
    }
    *length = (Py_ssize_t)(stop - start);
    return data + start;
}

static inline char *put_int32(char *out, int32_t v) {
    uint32_t u = (uint32_t)v;
    out[0] = (char)(u >> 24);
    out[1] = (char)(u >> 16);
    out[2] = (char)(u >> 8);
    out[3] = (char)u;
    return out + 4;
}

static inline char *put_int16(char *out, int16_t v) {
    uint16_t u = (uint16_t)v;
    out[0] = (char)(u >> 8);
    out[1] = (char)u;
    return out + 2;
}

/* Bytes of the non-NULL values of a column over rows 0..n-1. */
static Py_ssize_t values_length(const Column *c, Py_ssize_t n) {
    if (c->width >= 0 || c->has_validity) {
        Py_ssize_t total = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            if (is_valid(c, i)) {
                Py_ssize_t size;
                value(c, i, &size);
                total += size;
            }
        }
        return total;
    }
    Py_ssize_t size;
    const char *start = value(c, 0, &size);
    const char *stop = n > 0 ? value(c, n - 1, &size) + size : start;
    return n > 0 ? (Py_ssize_t)(stop - start) : 0;
}

static PyObject *row_too_large(void) {
    PyErr_SetString(PyExc_OverflowError, "row too large for one protocol message");
    return NULL;
}

/* Value bytes may not make a message longer than int32 allows. */
static int check_message(Py_ssize_t length) {
    if (length > INT32_MAX - 5) {
        row_too_large();
        return -1;
    }
    return 0;
}

/* One value as an int32 length and its bytes; the common fixed widths copy inline. */
static inline char *put_field(char *out, const Column *c, Py_ssize_t i) {
    Py_ssize_t size;
    const char *bytes = value(c, i, &size);
    out = put_int32(out, (int32_t)size);
    switch (c->width) {
        case 8: memcpy(out, bytes, 8); break;
        case 4: memcpy(out, bytes, 4); break;
        case 2: memcpy(out, bytes, 2); break;
        case 1: *out = *bytes; break;
        default: memcpy(out, bytes, (size_t)size);
    }
    return out + size;
}

PyDoc_STRVAR(fields_doc,
"fields(rows, columns, message, first) -> bytes\n\n"
"Every row as an int16 field count and, per column, an int32 length (-1 for NULL) and\n"
"the value. message b'D': each row a DataRow; b'd': each row a CopyData message, `first`\n"
"opening the first one; b'': rows only.");

static PyObject *fields(PyObject *self, PyObject *args) {
    Py_ssize_t n, count;
    PyObject *list;
    const char *message, *first;
    Py_ssize_t message_len, first_len;
    if (!PyArg_ParseTuple(args, "nO!y#y#", &n, &PyList_Type, &list, &message, &message_len,
                          &first, &first_len))
        return NULL;
    if (n < 0 || message_len > 1 || PyList_GET_SIZE(list) > INT16_MAX) {
        PyErr_SetString(PyExc_ValueError, "bad row count, message type or column count");
        return NULL;
    }
    Column *columns = parse_columns(list, n, &count);
    if (columns == NULL) return NULL;
    int framed = message_len == 1;
    int copy_data = framed && message[0] == 'd';
    Py_ssize_t opening = copy_data && n > 0 ? first_len : 0;
    Py_ssize_t total = n * (2 + 4 * count + (framed ? 5 : 0)) + opening;
    for (Py_ssize_t j = 0; j < count; j++) total += values_length(&columns[j], n);
    PyObject *result = PyBytes_FromStringAndSize(NULL, total);
    if (result == NULL) {
        release(columns, count);
        return NULL;
    }
    char *out = PyBytes_AS_STRING(result);
    int too_long = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        /* The message header is filled in once the row's length is known. */
        char *header = out;
        if (framed) out += 5;
        char *row = out;
        if (i == 0 && opening) {
            memcpy(out, first, (size_t)opening);
            out += opening;
        }
        out = put_int16(out, (int16_t)count);
        for (Py_ssize_t j = 0; j < count; j++) {
            const Column *c = &columns[j];
            out = is_valid(c, i) ? put_field(out, c, i) : put_int32(out, -1);
        }
        if (out - row > INT32_MAX - 5) {
            too_long = 1;
            break;
        }
        if (framed) {
            header[0] = message[0];
            put_int32(header + 1, (int32_t)(out - row + 4));
        }
    }
    Py_END_ALLOW_THREADS
    release(columns, count);
    if (too_long) {
        Py_DECREF(result);
        return row_too_large();
    }
    return result;
}

PyDoc_STRVAR(delimited_doc,
"delimited(rows, columns, nulls, delimiter, framed, first) -> bytes\n\n"
"Every row as its values (nulls[j] for a NULL in column j) separated by `delimiter` and\n"
"ended by a newline; with `framed`, each row a CopyData message, `first` opening the\n"
"first one.");

static PyObject *delimited(PyObject *self, PyObject *args) {
    Py_ssize_t n, count;
    PyObject *list, *null_list;
    const char *delimiter, *first;
    Py_ssize_t delimiter_len, first_len;
    int framed;
    if (!PyArg_ParseTuple(args, "nO!O!y#py#", &n, &PyList_Type, &list, &PyList_Type, &null_list,
                          &delimiter, &delimiter_len, &framed, &first, &first_len))
        return NULL;
    if (n < 0 || PyList_GET_SIZE(null_list) != PyList_GET_SIZE(list) || PyList_GET_SIZE(list) == 0) {
        PyErr_SetString(PyExc_ValueError, "one NULL string per column, at least one column");
        return NULL;
    }
    Column *columns = parse_columns(list, n, &count);
    if (columns == NULL) return NULL;
    const char **nulls = PyMem_Calloc((size_t)count, sizeof(char *));
    Py_ssize_t *null_lens = PyMem_Calloc((size_t)count, sizeof(Py_ssize_t));
    if (nulls == NULL || null_lens == NULL) {
        PyMem_Free(nulls);
        PyMem_Free(null_lens);
        release(columns, count);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t j = 0; j < count; j++) {
        char *s;
        if (PyBytes_AsStringAndSize(PyList_GET_ITEM(null_list, j), &s, &null_lens[j]) < 0) {
            PyMem_Free(nulls);
            PyMem_Free(null_lens);
            release(columns, count);
            return NULL;
        }
        nulls[j] = s;
    }
    /* Each row: values, count - 1 delimiters, one newline. */
    Py_ssize_t fixed = (count - 1) * delimiter_len + 1;
    Py_ssize_t total = 0;
    int failed = 0;
    for (Py_ssize_t i = 0; i < n && !failed; i++) {
        Py_ssize_t length = fixed + (framed && i == 0 ? first_len : 0);
        for (Py_ssize_t j = 0; j < count; j++) {
            Py_ssize_t size = null_lens[j];
            if (is_valid(&columns[j], i)) value(&columns[j], i, &size);
            length += size;
        }
        if (framed && check_message(length) < 0) failed = 1;
        total += length + (framed ? 5 : 0);
    }
    PyObject *result = failed ? NULL : PyBytes_FromStringAndSize(NULL, total);
    if (result != NULL) {
        char *out = PyBytes_AS_STRING(result);
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < n; i++) {
            char *message = out;
            if (framed) {
                out += 5;
                if (i == 0 && first_len) {
                    memcpy(out, first, (size_t)first_len);
                    out += first_len;
                }
            }
            for (Py_ssize_t j = 0; j < count; j++) {
                Py_ssize_t size = null_lens[j];
                const char *bytes = nulls[j];
                if (is_valid(&columns[j], i)) bytes = value(&columns[j], i, &size);
                memcpy(out, bytes, (size_t)size);
                out += size;
                if (j + 1 < count) {
                    memcpy(out, delimiter, (size_t)delimiter_len);
                    out += delimiter_len;
                }
            }
            *out++ = '\n';
            if (framed) {
                message[0] = 'd';
                put_int32(message + 1, (int32_t)(out - message - 1));
            }
        }
        Py_END_ALLOW_THREADS
    }
    PyMem_Free(nulls);
    PyMem_Free(null_lens);
    release(columns, count);
    return result;
}

static PyMethodDef methods[] = {
    {"fields", fields, METH_VARARGS, fields_doc},
    {"delimited", delimited, METH_VARARGS, delimited_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_framer",
    "Compiled row framing of the result and COPY encoders (see forge_sql.wire.encode.framer).",
    -1, methods,
};

PyMODINIT_FUNC PyInit__framer(void) { return PyModule_Create(&module); }
