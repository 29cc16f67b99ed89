/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Table-driven YAML configuration loader. libyaml parses the document into a
 * node tree; this file walks it against a table of mcx_conf_field_t and fills
 * a plain C struct. Every rejection names the file, line and key path.
 */
#include "mcx-core.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

typedef struct {
    const char *name;     /* file name for messages */
    yaml_document_t *doc; /* NULL while applying defaults */
    char *err;
    size_t errlen;
    const char *text;     /* the input, for load_string */
    FILE *fp;             /* the input, for load_file */
} conf_ctx_t;

static int fail(conf_ctx_t *c, const yaml_node_t *node, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(conf_ctx_t *c, const yaml_node_t *node, const char *path, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    if (node)
        snprintf(c->err, c->errlen, "%s:%zu: %s: %s", c->name, node->start_mark.line + 1,
                 path[0] ? path : "(top)", reason);
    else
        snprintf(c->err, c->errlen, "%s: %s: %s", c->name, path[0] ? path : "(top)", reason);
    return -EINVAL;
}

static void join_path(char *out, size_t outlen, const char *parent, const char *key)
{
    if (parent[0])
        snprintf(out, outlen, "%s.%s", parent, key);
    else
        snprintf(out, outlen, "%s", key);
}

/* Parse a scalar text into the target described by `f`. `node` may be NULL (defaults). */
static int set_scalar(conf_ctx_t *c, const mcx_conf_field_t *f, void *base, const char *text,
                      const yaml_node_t *node, const char *path)
{
    char *end = NULL;
    void *dst = (char *)base + f->offset;

    switch (f->type) {
    case MCX_CONF_STRING:
        if (strlen(text) >= f->size)
            return fail(c, node, path, "value is longer than %zu characters", f->size - 1);
        memcpy(dst, text, strlen(text) + 1);
        return 0;
    case MCX_CONF_INT:
    case MCX_CONF_UINT: {
        errno = 0;
        long long v = strtoll(text, &end, 0);
        if (errno || end == text || *end != '\0')
            return fail(c, node, path, "'%s' is not an integer", text);
        if ((f->min || f->max) && (v < f->min || v > f->max))
            return fail(c, node, path, "%lld is out of range %" PRId64 "..%" PRId64, v, f->min,
                        f->max);
        if (f->type == MCX_CONF_UINT) {
            if (v < 0 || v > (long long)UINT32_MAX)
                return fail(c, node, path, "%lld is not an unsigned 32-bit value", v);
            *(uint32_t *)dst = (uint32_t)v;
        } else {
            *(int64_t *)dst = v;
        }
        return 0;
    }
    case MCX_CONF_BOOL:
        if (!strcasecmp(text, "true") || !strcasecmp(text, "yes") || !strcasecmp(text, "on"))
            *(bool *)dst = true;
        else if (!strcasecmp(text, "false") || !strcasecmp(text, "no") ||
                 !strcasecmp(text, "off"))
            *(bool *)dst = false;
        else
            return fail(c, node, path, "'%s' is not a boolean (true or false)", text);
        return 0;
    case MCX_CONF_ENUM:
        for (int i = 0; f->enum_names[i]; i++) {
            if (!strcmp(text, f->enum_names[i])) {
                *(int *)dst = i;
                return 0;
            }
        }
        {
            char allowed[256] = "";
            for (int i = 0; f->enum_names[i]; i++) {
                if (i)
                    strncat(allowed, ", ", sizeof(allowed) - strlen(allowed) - 1);
                strncat(allowed, f->enum_names[i], sizeof(allowed) - strlen(allowed) - 1);
            }
            return fail(c, node, path, "'%s' is not one of: %s", text, allowed);
        }
    default:
        return fail(c, node, path, "internal: not a scalar field");
    }
}

static int apply_defaults(conf_ctx_t *c, const mcx_conf_field_t *table, void *base,
                          const char *parent)
{
    char path[256];
    for (const mcx_conf_field_t *f = table; f->key; f++) {
        join_path(path, sizeof(path), parent, f->key);
        if (f->type == MCX_CONF_MAP) {
            int rv = apply_defaults(c, f->sub, (char *)base + f->offset, path);
            if (rv)
                return rv;
        } else if (f->def && f->type != MCX_CONF_LIST && f->type != MCX_CONF_STRLIST) {
            int rv = set_scalar(c, f, base, f->def, NULL, path);
            if (rv)
                return rv;
        }
    }
    return 0;
}

static int load_map(conf_ctx_t *c, const mcx_conf_field_t *table, void *base, yaml_node_t *node,
                    const char *parent);

static const char *scalar_text(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static int load_field(conf_ctx_t *c, const mcx_conf_field_t *f, void *base, yaml_node_t *val,
                      const char *path)
{
    switch (f->type) {
    case MCX_CONF_MAP:
        if (val->type != YAML_MAPPING_NODE)
            return fail(c, val, path, "expected a mapping");
        return load_map(c, f->sub, (char *)base + f->offset, val, path);

    case MCX_CONF_LIST: {
        if (val->type != YAML_SEQUENCE_NODE)
            return fail(c, val, path, "expected a list");
        unsigned *count = (unsigned *)((char *)base + f->count_offset);
        *count = 0;
        for (yaml_node_item_t *it = val->data.sequence.items.start;
             it < val->data.sequence.items.top; it++) {
            yaml_node_t *elem = yaml_document_get_node(c->doc, *it);
            char epath[300];
            snprintf(epath, sizeof(epath), "%s[%u]", path, *count);
            if (*count >= f->cap)
                return fail(c, elem, epath, "too many entries (at most %u)", f->cap);
            if (elem->type != YAML_MAPPING_NODE)
                return fail(c, elem, epath, "expected a mapping");
            void *ebase = (char *)base + f->offset + (size_t)*count * f->elem_size;
            memset(ebase, 0, f->elem_size);
            int rv = apply_defaults(c, f->sub, ebase, epath);
            if (rv)
                return rv;
            rv = load_map(c, f->sub, ebase, elem, epath);
            if (rv)
                return rv;
            (*count)++;
        }
        return 0;
    }

    case MCX_CONF_STRLIST: {
        if (val->type != YAML_SEQUENCE_NODE)
            return fail(c, val, path, "expected a list of strings");
        unsigned *count = (unsigned *)((char *)base + f->count_offset);
        *count = 0;
        for (yaml_node_item_t *it = val->data.sequence.items.start;
             it < val->data.sequence.items.top; it++) {
            yaml_node_t *elem = yaml_document_get_node(c->doc, *it);
            char epath[300];
            snprintf(epath, sizeof(epath), "%s[%u]", path, *count);
            if (*count >= f->cap)
                return fail(c, elem, epath, "too many entries (at most %u)", f->cap);
            if (elem->type != YAML_SCALAR_NODE)
                return fail(c, elem, epath, "expected a string");
            const char *t = scalar_text(elem);
            if (strlen(t) >= f->size)
                return fail(c, elem, epath, "value is longer than %zu characters", f->size - 1);
            char *dst = (char *)base + f->offset + (size_t)*count * f->size;
            memcpy(dst, t, strlen(t) + 1);
            (*count)++;
        }
        return 0;
    }

    default:
        if (val->type != YAML_SCALAR_NODE)
            return fail(c, val, path, "expected a single value");
        return set_scalar(c, f, base, scalar_text(val), val, path);
    }
}

static int load_map(conf_ctx_t *c, const mcx_conf_field_t *table, void *base, yaml_node_t *node,
                    const char *parent)
{
    size_t nfields = 0;
    while (table[nfields].key)
        nfields++;
    bool seen[nfields ? nfields : 1];
    memset(seen, 0, sizeof(seen));

    char path[256];
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        if (k->type != YAML_SCALAR_NODE)
            return fail(c, k, parent, "keys must be plain strings");
        const char *key = scalar_text(k);
        join_path(path, sizeof(path), parent, key);

        size_t i;
        for (i = 0; i < nfields; i++)
            if (!strcmp(table[i].key, key))
                break;
        if (i == nfields)
            return fail(c, k, path, "unknown key");
        if (seen[i])
            return fail(c, k, path, "key given twice");
        seen[i] = true;
        int rv = load_field(c, &table[i], base, v, path);
        if (rv)
            return rv;
    }
    for (size_t i = 0; i < nfields; i++) {
        if (table[i].required && !seen[i]) {
            join_path(path, sizeof(path), parent, table[i].key);
            return fail(c, node, path, "required key is missing");
        }
    }
    return 0;
}

/* 1-based line of byte `offset` of the input, by counting newlines before it. */
static size_t offset_line(conf_ctx_t *c, size_t offset)
{
    size_t line = 1;
    if (c->text) {
        for (size_t i = 0; i < offset && c->text[i]; i++)
            line += c->text[i] == '\n';
    } else if (c->fp && fseek(c->fp, 0, SEEK_SET) == 0) {
        for (size_t i = 0; i < offset; i++) {
            int ch = getc(c->fp);
            if (ch == EOF)
                break;
            line += ch == '\n';
        }
    }
    return line;
}

static int syntax_error(conf_ctx_t *c, yaml_parser_t *parser)
{
    /* The reader (bad UTF-8, I/O) reports a byte offset; its problem_mark is not set. */
    size_t line = parser->error == YAML_READER_ERROR ? offset_line(c, parser->problem_offset)
                                                     : parser->problem_mark.line + 1;
    snprintf(c->err, c->errlen, "%s:%zu: YAML syntax error: %s", c->name, line,
             parser->problem ? parser->problem : "unknown");
    return -EINVAL;
}

static int load_parser(conf_ctx_t *c, yaml_parser_t *parser, const mcx_conf_field_t *table,
                       void *base)
{
    yaml_document_t doc;
    if (!yaml_parser_load(parser, &doc))
        return syntax_error(c, parser);

    /*
     * yaml_parser_load stops after the first document; whatever follows
     * ("---" and more keys, or broken YAML after "...") would otherwise be
     * ignored without a word. A document without a root is the stream end.
     */
    yaml_document_t extra;
    if (!yaml_parser_load(parser, &extra)) {
        yaml_document_delete(&doc);
        return syntax_error(c, parser);
    }
    yaml_node_t *extra_root = yaml_document_get_root_node(&extra);
    if (extra_root) {
        snprintf(c->err, c->errlen, "%s:%zu: only one YAML document is allowed", c->name,
                 extra_root->start_mark.line + 1);
        yaml_document_delete(&extra);
        yaml_document_delete(&doc);
        return -EINVAL;
    }
    yaml_document_delete(&extra);

    c->doc = &doc;
    int rv = apply_defaults(c, table, base, "");
    yaml_node_t *root = rv ? NULL : yaml_document_get_root_node(&doc);
    if (!rv && !root) {
        /* An empty file is a document with no keys: only required keys fail. */
        yaml_node_t empty;
        memset(&empty, 0, sizeof(empty));
        empty.type = YAML_MAPPING_NODE;
        rv = load_map(c, table, base, &empty, "");
    } else if (!rv) {
        if (root->type != YAML_MAPPING_NODE)
            rv = fail(c, root, "", "the document must be a mapping of keys");
        else
            rv = load_map(c, table, base, root, "");
    }
    yaml_document_delete(&doc);
    return rv;
}

int mcx_conf_load_string(const char *name, const char *text, const mcx_conf_field_t *table,
                         void *base, char *err, size_t errlen)
{
    conf_ctx_t c = {.name = name, .err = err, .errlen = errlen, .text = text};
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return -ENOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
    int rv = load_parser(&c, &parser, table, base);
    yaml_parser_delete(&parser);
    return rv;
}

int mcx_conf_load_file(const char *path, const mcx_conf_field_t *table, void *base, char *err,
                       size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        int e = errno;
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
        return -e;
    }
    conf_ctx_t c = {.name = path, .err = err, .errlen = errlen, .fp = fp};
    yaml_parser_t parser;
    int rv;
    if (!yaml_parser_initialize(&parser)) {
        fclose(fp);
        return -ENOMEM;
    }
    yaml_parser_set_input_file(&parser, fp);
    rv = load_parser(&c, &parser, table, base);
    yaml_parser_delete(&parser);
    fclose(fp);
    return rv;
}

int mcx_conf_apply_defaults(const mcx_conf_field_t *table, void *base, char *err, size_t errlen)
{
    conf_ctx_t c = {.name = "(defaults)", .err = err, .errlen = errlen};
    return apply_defaults(&c, table, base, "");
}
