/* One instruction: its keyword, flags and arguments, split and checked as
 * BuildKit's parser (line_parsers.go) and instruction parser (parse.go) do. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "parser/internal.h"

enum arg_style
{
  ARGS_MAYBE_JSON,    /* exec form, or the rest of the line as one string */
  ARGS_JSON_OR_WORDS, /* exec form, or words split on blanks */
  ARGS_PAIRS,         /* ENV and LABEL name=value pairs */
  ARGS_WORDS,         /* words, quotes kept */
  ARGS_BLANK_SPLIT,   /* words split on blanks, quotes not special */
  ARGS_STRING,        /* the rest of the line as one string */
  ARGS_TRIGGER,       /* ONBUILD */
  ARGS_HEALTHCHECK,   /* a type word, then like ARGS_MAYBE_JSON */
};

typedef int (*check_fn) (const struct cb_df_line *line, const struct cb_instruction *ins, const char *cmd,
                         cbuild_error *err);

struct instruction_spec
{
  const char *name;
  enum arg_style style;
  check_fn check;
};

static int parse_line (const struct cb_df_line *line, struct cb_instruction *ins, cbuild_error *err);

/* Records what a failure is about, so that its message points there. */
static void
point_at (const struct cb_df_line *line, const char *subject, size_t len)
{
  if (line->site == NULL)
    return;
  if (len >= sizeof line->site->subject)
    len = sizeof line->site->subject - 1;
  memcpy (line->site->subject, subject, len);
  line->site->subject[len] = '\0';
}

static int
need_at_least (const struct cb_instruction *ins, const char *cmd, size_t n, cbuild_error *err)
{
  if (ins->n_args >= n)
    return 0;
  if (n == 1)
    return cb_error_set (err, CBUILD_ERR_PARSE, "%s requires at least one argument", cmd);
  return cb_error_set (err, CBUILD_ERR_PARSE,
                       "%s requires at least two arguments: one or more sources and a destination", cmd);
}

static int
check_one_or_more (const struct cb_df_line *line, const struct cb_instruction *ins, const char *cmd,
                   cbuild_error *err)
{
  return need_at_least (ins, cmd, 1, err);
}

static int
check_exactly_one (const struct cb_df_line *line, const struct cb_instruction *ins, const char *cmd,
                   cbuild_error *err)
{
  if (ins->n_args != 1)
    return cb_error_set (err, CBUILD_ERR_PARSE, "%s requires exactly one argument", cmd);
  return 0;
}

static bool
valid_stage_name (const char *name)
{
  if (!isalpha ((unsigned char) name[0]))
    return false;
  for (const char *p = name; *p; p++)
    if (!isalnum ((unsigned char) *p) && !strchr ("-_.", *p))
      return false;
  return true;
}

static int
check_from (const struct cb_df_line *line, const struct cb_instruction *ins, const char *cmd,
            cbuild_error *err)
{
  if (ins->n_args == 3 && strcasecmp (ins->args[1], "as") == 0)
    {
      point_at (line, ins->args[2], strlen (ins->args[2]));
      if (!valid_stage_name (ins->args[2]))
        return cb_error_set (err, CBUILD_ERR_PARSE,
                             "invalid stage name '%s': it must start with a letter and contain only "
                             "letters, digits, '-', '_' and '.'",
                             ins->args[2]);
      return 0;
    }
  if (ins->n_args != 1)
    return cb_error_set (err, CBUILD_ERR_PARSE, "FROM requires either one or three arguments (FROM image AS name)");
  return 0;
}

static int
check_shell (const struct cb_df_line *line, const struct cb_instruction *ins, const char *cmd,
             cbuild_error *err)
{
  if (ins->n_args == 0)
    return check_one_or_more (line, ins, cmd, err);
  if (!ins->json)
    return cb_error_set (err, CBUILD_ERR_PARSE,
                         "SHELL requires the arguments to be in JSON form, such as [\"/bin/sh\", \"-c\"]");
  return 0;
}

static int
check_pairs (const struct cb_df_line *line, const struct cb_instruction *ins, const char *cmd,
             cbuild_error *err)
{
  if (check_one_or_more (line, ins, cmd, err) < 0)
    return -1;
  for (size_t i = 0; i < ins->n_args; i += 2)
    if (ins->args[i][0] == '\0')
      return cb_error_set (err, CBUILD_ERR_PARSE, "%s names can not be blank", cmd);
  return 0;
}

static int
check_arg (const struct cb_df_line *line, const struct cb_instruction *ins, const char *cmd,
           cbuild_error *err)
{
  if (check_one_or_more (line, ins, cmd, err) < 0)
    return -1;
  for (size_t i = 0; i < ins->n_args; i++)
    if (ins->args[i][0] == '=')
      return cb_error_set (err, CBUILD_ERR_PARSE, "ARG names can not be blank");
  return 0;
}

static int
check_copy (const struct cb_df_line *line, const struct cb_instruction *ins, const char *cmd,
            cbuild_error *err)
{
  struct cb_heredoc doc;
  bool found;

  if (need_at_least (ins, cmd, 2, err) < 0)
    return -1;
  if (cb_heredoc_from_word (ins->args[ins->n_args - 1], &doc, &found, err) < 0)
    return -1;
  cb_heredoc_release (&doc);
  point_at (line, ins->args[ins->n_args - 1], strlen (ins->args[ins->n_args - 1]));
  if (found)
    return cb_error_set (err, CBUILD_ERR_PARSE, "%s cannot accept a heredoc as a destination", cmd);
  return 0;
}

static int
check_volume (const struct cb_df_line *line, const struct cb_instruction *ins, const char *cmd,
              cbuild_error *err)
{
  if (check_one_or_more (line, ins, cmd, err) < 0)
    return -1;
  for (size_t i = 0; i < ins->n_args; i++)
    {
      const char *s = ins->args[i];
      size_t len = strlen (s);
      cb_trim_space (&s, &len);
      if (len == 0)
        return cb_error_set (err, CBUILD_ERR_PARSE, "VOLUME specified can not be an empty string");
    }
  return 0;
}

static int
check_healthcheck (const struct cb_df_line *line, const struct cb_instruction *ins, const char *cmd,
                   cbuild_error *err)
{
  if (check_one_or_more (line, ins, cmd, err) < 0)
    return -1;
  if (strcmp (ins->args[0], "NONE") == 0)
    {
      if (ins->n_args > 1)
        return cb_error_set (err, CBUILD_ERR_PARSE, "HEALTHCHECK NONE takes no arguments");
      return 0;
    }
  point_at (line, ins->args[0], strlen (ins->args[0]));
  if (strcmp (ins->args[0], "CMD") != 0)
    return cb_error_set (err, CBUILD_ERR_PARSE, "unknown type '%s' in HEALTHCHECK (try CMD)", ins->args[0]);
  if (ins->n_args == 1)
    return cb_error_set (err, CBUILD_ERR_PARSE, "missing command after HEALTHCHECK CMD");
  return 0;
}

/* Sorted by name. The names are what "did you mean" picks from. */
static const struct instruction_spec specs[] = {
  { "add", ARGS_JSON_OR_WORDS, check_copy },
  { "arg", ARGS_WORDS, check_arg },
  { "cmd", ARGS_MAYBE_JSON, NULL },
  { "copy", ARGS_JSON_OR_WORDS, check_copy },
  { "entrypoint", ARGS_MAYBE_JSON, NULL },
  { "env", ARGS_PAIRS, check_pairs },
  { "expose", ARGS_BLANK_SPLIT, check_one_or_more },
  { "from", ARGS_BLANK_SPLIT, check_from },
  { "healthcheck", ARGS_HEALTHCHECK, check_healthcheck },
  { "label", ARGS_PAIRS, check_pairs },
  { "maintainer", ARGS_STRING, check_exactly_one },
  { "onbuild", ARGS_TRIGGER, check_one_or_more },
  { "run", ARGS_MAYBE_JSON, check_one_or_more },
  { "shell", ARGS_MAYBE_JSON, check_shell },
  { "stopsignal", ARGS_STRING, check_exactly_one },
  { "user", ARGS_STRING, check_exactly_one },
  { "volume", ARGS_JSON_OR_WORDS, check_volume },
  { "workdir", ARGS_STRING, check_exactly_one },
};
#define N_SPECS (sizeof specs / sizeof specs[0])

static const struct instruction_spec *
find_spec (const char *cmd)
{
  for (size_t i = 0; i < N_SPECS; i++)
    if (strcmp (specs[i].name, cmd) == 0)
      return &specs[i];
  return NULL;
}

static int
unknown_instruction (const char *keyword, const char *cmd, cbuild_error *err)
{
  const char *names[N_SPECS];
  const char *hint;
  char upper[16];
  size_t i;

  for (i = 0; i < N_SPECS; i++)
    names[i] = specs[i].name;
  hint = cb_suggest (cmd, names, N_SPECS);
  if (hint == NULL)
    return cb_error_set (err, CBUILD_ERR_PARSE, "unknown instruction '%s'", keyword);
  for (i = 0; hint[i] && i + 1 < sizeof upper; i++)
    upper[i] = (char) toupper ((unsigned char) hint[i]);
  upper[i] = '\0';
  return cb_error_set (err, CBUILD_ERR_PARSE, "unknown instruction '%s' (did you mean %s?)", keyword, upper);
}

static void
take_strv (struct cb_strv *v, char ***items, size_t *n)
{
  *items = v->items;
  *n = v->len;
  v->items = NULL;
  v->len = v->cap = 0;
}

/* BuildKit's parseMaybeJSON (list false) and parseMaybeJSONToList. */
static int
parse_maybe_json (const struct cb_df_line *line, const char *text, bool list, struct cb_instruction *ins,
                  struct cb_strv *out, cbuild_error *err)
{
  int ret;

  if (*text == '\0')
    return 0;
  ret = cb_json_string_array (text, strlen (text), out, err);
  if (ret < 0)
    point_at (line, "[", 1);
  if (ret != 0)
    {
      ins->json = ret > 0;
      return ret > 0 ? 0 : -1;
    }
  if (list)
    return cb_df_split_blank (text, 0, out, err);
  return cb_strv_push (out, text, err);
}

/* ENV and LABEL: "k=v k2=v2", or the legacy "k the value". */
static int
parse_pairs (const char *text, char escape, struct cb_instruction *ins, struct cb_strv *out, cbuild_error *err)
{
  cleanup_strv struct cb_strv words = CB_STRV_INIT;
  const char *cmd = strcmp (ins->cmd, "env") == 0 ? "ENV" : "LABEL";

  if (cb_df_words (text, escape, &words, err) < 0)
    return -1;
  if (words.len == 0)
    return 0;
  if (strchr (words.items[0], '=') == NULL)
    {
      ins->legacy_kv = true;
      if (cb_df_split_blank (text, 2, out, err) < 0)
        return -1;
      if (out->len < 2)
        return cb_error_set (err, CBUILD_ERR_PARSE, "%s must have two arguments: use %s name=value", cmd, cmd);
      return 0;
    }
  for (size_t i = 0; i < words.len; i++)
    {
      char *eq = strchr (words.items[i], '=');
      if (eq == NULL)
        return cb_error_set (err, CBUILD_ERR_PARSE,
                             "can't find '=' in '%s': %s arguments must be of the form name=value",
                             words.items[i], cmd);
      *eq = '\0';
      if (cb_strv_push (out, words.items[i], err) < 0 || cb_strv_push (out, eq + 1, err) < 0)
        return -1;
    }
  return 0;
}

/* HEALTHCHECK: the type word (upper-cased), then the command. */
static int
parse_healthcheck (const struct cb_df_line *line, const char *text, struct cb_instruction *ins,
                   struct cb_strv *out, cbuild_error *err)
{
  size_t sep = 0, next;
  cleanup_free char *type = NULL;

  while (text[sep] && !isspace ((unsigned char) text[sep]))
    sep++;
  if (sep == 0)
    return 0;
  for (next = sep; text[next] && isspace ((unsigned char) text[next]); next++)
    ;
  type = strndup (text, sep);
  if (type == NULL)
    return cb_error_nomem (err);
  for (char *c = type; *c; c++)
    *c = (char) toupper ((unsigned char) *c);
  if (cb_strv_push (out, type, err) < 0)
    return -1;
  return parse_maybe_json (line, text + next, false, ins, out, err);
}

/* Drops (?i)^\s*ONBUILD\s* from the line, as BuildKit stores triggers. */
static const char *
trigger_expression (const char *original)
{
  const char *p = original;

  while (*p && strchr (" \t\n\f\r", *p))
    p++;
  if (strncasecmp (p, "onbuild", 7) == 0)
    p += 7;
  while (*p && strchr (" \t\n\f\r", *p))
    p++;
  return p;
}

static int
parse_trigger (const struct cb_df_line *line, const char *text, struct cb_instruction *ins,
               struct cb_strv *out, cbuild_error *err)
{
  struct cb_df_line sub = *line;
  size_t kw = strcspn (text, " \t\v\f\r");

  if (*text == '\0')
    return 0;
  if (kw == 7 && strncasecmp (text, "onbuild", 7) == 0)
    return cb_error_set (err, CBUILD_ERR_PARSE, "chaining ONBUILD via 'ONBUILD ONBUILD' isn't allowed");
  if (kw == 4 && strncasecmp (text, "from", 4) == 0)
    return cb_error_set (err, CBUILD_ERR_PARSE, "FROM isn't allowed as an ONBUILD trigger");
  if (kw == 10 && strncasecmp (text, "maintainer", 10) == 0)
    return cb_error_set (err, CBUILD_ERR_PARSE, "MAINTAINER isn't allowed as an ONBUILD trigger");
  ins->next = calloc (1, sizeof *ins->next);
  if (ins->next == NULL)
    return cb_error_nomem (err);
  point_at (line, text, kw);
  sub.text = text;
  if (parse_line (&sub, ins->next, err) < 0)
    return -1;
  return cb_strv_push (out, trigger_expression (line->text), err);
}

static int
parse_args (const struct cb_df_line *line, enum arg_style style, const char *text, struct cb_instruction *ins,
            struct cb_strv *out, cbuild_error *err)
{
  switch (style)
    {
    case ARGS_MAYBE_JSON:
      return parse_maybe_json (line, text, false, ins, out, err);
    case ARGS_JSON_OR_WORDS:
      return parse_maybe_json (line, text, true, ins, out, err);
    case ARGS_PAIRS:
      return parse_pairs (text, line->escape, ins, out, err);
    case ARGS_WORDS:
      return cb_df_words (text, line->escape, out, err);
    case ARGS_BLANK_SPLIT:
      return *text ? cb_df_split_blank (text, 0, out, err) : 0;
    case ARGS_STRING:
      return *text ? cb_strv_push (out, text, err) : 0;
    case ARGS_TRIGGER:
      return parse_trigger (line, text, ins, out, err);
    case ARGS_HEALTHCHECK:
      return parse_healthcheck (line, text, ins, out, err);
    }
  return 0;
}

/* Splits "KEYWORD rest" at the first run of blanks and sets ins->cmd. */
static int
split_keyword (char *work, const char **rest, struct cb_instruction *ins, cbuild_error *err)
{
  size_t kw = strcspn (work, " \t\v\f\r");
  char *p = work + kw;

  while (cb_is_blank (*p))
    p++;
  *rest = p;
  ins->keyword = strndup (work, kw);
  ins->cmd = strndup (work, kw);
  if (ins->keyword == NULL || ins->cmd == NULL)
    return cb_error_nomem (err);
  for (char *c = ins->cmd; *c; c++)
    *c = (char) tolower ((unsigned char) *c);
  return 0;
}

/* Copies text without surrounding Unicode spaces. */
static char *
trimmed_copy (const char *text)
{
  size_t len = strlen (text);

  cb_trim_space (&text, &len);
  return strndup (text, len);
}

static int
parse_body (const struct cb_df_line *line, const struct instruction_spec *spec, const char *rest,
            struct cb_instruction *ins, cbuild_error *err)
{
  cleanup_strv struct cb_strv flags = CB_STRV_INIT;
  cleanup_strv struct cb_strv args = CB_STRV_INIT;
  cleanup_free char *text = NULL;
  char cmd[16];
  size_t bad_flag;

  if (*rest && cb_df_extract_flags (rest, &flags, &rest, err) < 0)
    return -1;
  take_strv (&flags, &ins->flags, &ins->n_flags);
  text = trimmed_copy (rest);
  if (text == NULL)
    return cb_error_nomem (err);
  if (parse_args (line, spec->style, text, ins, &args, err) < 0)
    return -1;
  take_strv (&args, &ins->args, &ins->n_args);
  if (cb_df_check_flags (ins, &bad_flag, err) < 0)
    {
      point_at (line, ins->flags[bad_flag], strcspn (ins->flags[bad_flag], "="));
      return -1;
    }
  for (size_t i = 0; i < sizeof cmd; i++)
    if ((cmd[i] = (char) toupper ((unsigned char) spec->name[i])) == '\0')
      break;
  return spec->check ? spec->check (line, ins, cmd, err) : 0;
}

static int
parse_line (const struct cb_df_line *line, struct cb_instruction *ins, cbuild_error *err)
{
  cleanup_free char *work = trimmed_copy (line->text);
  const struct instruction_spec *spec;
  const char *rest;

  ins->line = line->line;
  ins->end_line = line->end_line;
  ins->original = strdup (line->text);
  if (work == NULL || ins->original == NULL)
    return cb_error_nomem (err);
  if (split_keyword (work, &rest, ins, err) < 0)
    return -1;
  spec = find_spec (ins->cmd);
  if (spec == NULL)
    {
      work[strcspn (work, " \t\v\f\r")] = '\0';
      return unknown_instruction (work, ins->cmd, err);
    }
  return parse_body (line, spec, rest, ins, err);
}

int
cb_df_parse_instruction (const struct cb_df_line *line, struct cb_instruction *ins, cbuild_error *err)
{
  return parse_line (line, ins, err);
}

struct cb_instruction *
cb_df_heredoc_target (struct cb_instruction *ins)
{
  if (strcmp (ins->cmd, "onbuild") == 0 && ins->next)
    ins = ins->next;
  if (strcmp (ins->cmd, "run") != 0 && strcmp (ins->cmd, "copy") != 0 && strcmp (ins->cmd, "add") != 0)
    return NULL;
  return ins->json ? NULL : ins;
}

static void
free_strings (char **items, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (items[i]);
  free (items);
}

void
cb_instruction_release (struct cb_instruction *ins)
{
  free (ins->cmd);
  free (ins->keyword);
  free (ins->original);
  free_strings (ins->flags, ins->n_flags);
  free_strings (ins->args, ins->n_args);
  for (size_t i = 0; i < ins->n_heredocs; i++)
    cb_heredoc_release (&ins->heredocs[i]);
  free (ins->heredocs);
  if (ins->next)
    {
      cb_instruction_release (ins->next);
      free (ins->next);
    }
  memset (ins, 0, sizeof *ins);
}
