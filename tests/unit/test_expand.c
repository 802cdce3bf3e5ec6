/* Variable substitution: each case is a word and what BuildKit's shell
 * lexer makes of it with the environment below, or the error it reports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/buf.h"
#include "common/strv.h"
#include "parser/expand.h"

static const char *const env_items[] = {
  "PWD=/home",
  "SHELL=bash",
  "EMPTY=",
  "WITHSPACE=a b  c",
  "X=x",
  "PATH_VAR=/usr/local/bin:/usr/bin",
  "FILE=archive.tar.gz",
  "URL=http://example.com/path/to/file",
  "UNI=h\xC3\xA9llo",
  "NL=a\nb",
  "STAR=*star*",
  "DUP=1",
  "DUP=2",
  "BARE",
};

struct expand_case
{
  const char *word;
  const char *want; /* result, or "error: message" */
};

static const struct expand_case word_cases[] = {
  { "hello", "hello" },
  { "he'll'o", "hello" },
  { "he'llo", "error: failed to process 'he'llo': unexpected end of statement while looking for matching single-quote" },
  { "he\\'llo", "he'llo" },
  { "he\\\\'llo", "error: failed to process 'he\\\\'llo': unexpected end of statement while looking for matching single-quote" },
  { "abc\\", "abc" },
  { "\"abc\\\"def\"", "abc\"def" },
  { "\"a\\b\"", "a\\b" },
  { "\"a\\\\b\"", "a\\b" },
  { "\"a\\$b\"", "a$b" },
  { "'a\\b'", "a\\b" },
  { "\"abc", "error: failed to process '\"abc': unexpected end of statement while looking for matching double-quote" },
  { "\"$PWD\"", "/home" },
  { "'$PWD'", "$PWD" },
  { "$PWD", "/home" },
  { "${PWD}", "/home" },
  { "$PWD/x", "/home/x" },
  { "${PWD}x", "/homex" },
  { "$PWDx", "" },
  { "${PWD}${X}", "/homex" },
  { "\\$PWD", "$PWD" },
  { "$", "$" },
  { "a$", "a$" },
  { "$ a", "$ a" },
  { "$/x", "$/x" },
  { "${PWD:-x}", "/home" },
  { "${NOPE:-x}", "x" },
  { "${EMPTY:-x}", "x" },
  { "${EMPTY-x}", "" },
  { "${NOPE-x}", "x" },
  { "${X-}", "x" },
  { "${NOPE-}", "" },
  { "${PWD:+x}", "x" },
  { "${NOPE:+x}", "" },
  { "${EMPTY:+x}", "" },
  { "${EMPTY+x}", "x" },
  { "${NOPE:-$PWD}", "/home" },
  { "${NOPE:-${X:-y}}", "x" },
  { "${NOPE:-'a b'}", "a b" },
  { "${NOPE:-\"a $X\"}", "a x" },
  { "${NOPE:-a\\}b}", "a}b" },
  { "\"${NOPE:-a b}\"", "a b" },
  { "'${PWD}'", "${PWD}" },
  { "${NOPE:?}", "error: failed to process '${NOPE:?}': NOPE: is not allowed to be unset" },
  { "${NOPE:?custom message}", "error: failed to process '${NOPE:?custom message}': NOPE: custom message" },
  { "${EMPTY:?}", "error: failed to process '${EMPTY:?}': EMPTY: is not allowed to be empty" },
  { "${EMPTY?}", "" },
  { "${X?msg}", "x" },
  { "${NOPE?msg}", "error: failed to process '${NOPE?msg}': NOPE: msg" },
  { "${NOPE?}", "error: failed to process '${NOPE?}': NOPE: is not allowed to be unset" },
  { "${FILE#*.}", "tar.gz" },
  { "${FILE##*.}", "gz" },
  { "${FILE%.*}", "archive.tar" },
  { "${FILE%%.*}", "archive" },
  { "${FILE#archive}", ".tar.gz" },
  { "${FILE%.gz}", "archive.tar" },
  { "${FILE%.??}", "archive.tar" },
  { "${FILE%.?}", "archive.tar.gz" },
  { "${URL#*//}", "example.com/path/to/file" },
  { "${URL%/*}", "http://example.com/path/to" },
  { "${URL##*/}", "file" },
  { "${X#y}", "x" },
  { "${X%}", "x" },
  { "${NOPE#x}", "" },
  { "${STAR#\\*}", "star*" },
  { "${STAR%\\*}", "*star" },
  { "${STAR##*\\*}", "" },
  { "${FILE/tar/zip}", "archive.zip.gz" },
  { "${FILE//a/A}", "Archive.tAr.gz" },
  { "${FILE/a*/Z}", "Z" },
  { "${FILE/?r/X}", "Xchive.tar.gz" },
  { "${FILE//a*/}", "" },
  { "${PATH_VAR//:/ }", "/usr/local/bin /usr/bin" },
  { "${WITHSPACE// /_}", "a_b__c" },
  { "${X/x/}", "" },
  { "${X//x/$PWD}", "/home" },
  { "${X//q*/y}", "x" },
  { "${X//*/y}", "y" },
  { "${EMPTY//*/y}", "y" },
  { "${FILE//\\*/x}", "archive.tar.gz" },
  { "${URL/\\//_}", "http:_/example.com/path/to/file" },
  { "${X//x/\\$0\\$0}", "\\x\\x" },
  { "${X/x/\\$0}", "\\$0" },
  { "${FILE/\\./-}", "error: failed to process '${FILE/\\./-}': invalid pattern (\\.) in substitution: invalid escape '\\.'" },
  { "${X:1}", "error: failed to process '${X:1}': unsupported modifier (:1) in substitution" },
  { "${X!}", "error: failed to process '${X!}': unsupported modifier (!) in substitution" },
  { "${X y}", "error: failed to process '${X y}': unsupported modifier ( ) in substitution" },
  { "${}", "error: failed to process '${}': syntax error: bad substitution" },
  { "${:}", "error: failed to process '${:}': syntax error: bad substitution" },
  { "${{}", "error: failed to process '${{}': syntax error: bad substitution" },
  { "${", "error: failed to process '${': syntax error: missing '}'" },
  { "${X", "error: failed to process '${X': syntax error: missing '}'" },
  { "${X:-abc", "error: failed to process '${X:-abc': syntax error: missing '}'" },
  { "${X/a", "error: failed to process '${X/a': syntax error: missing '/' in ${}" },
  { "${X/a/b", "error: failed to process '${X/a/b': syntax error: missing '}'" },
  { "$1", "" },
  { "$10", "" },
  { "${10}", "" },
  { "$@", "" },
  { "$#abc", "abc" },
  { "$$", "" },
  { "\xC3\xA9$X", "\xC3\xA9x" },
  { "$X\xE2\x82\xAC", "x\xE2\x82\xAC" },
  { "$DUP", "2" },
  { "${BARE-x}", "" },
  { "${NL##*}", "\nb" },
  { "${NL#*}", "a\nb" },
  { "${NL%%*}", "a\n" },
  { "${UNI#h?}", "llo" },
  { "${UNI/\xC3\xA9/e}", "hello" },
};

/* Words after splitting, joined with '|'. */
static const struct expand_case words_cases[] = {
  { "a b c", "a|b|c" },
  { "  a   b  ", "a|b" },
  { "'a b' c", "a b|c" },
  { "\"a b\" c", "a b|c" },
  { "a\\ b", "a b" },
  { "$WITHSPACE", "a|b|c" },
  { "\"$WITHSPACE\"", "a b  c" },
  { "x$WITHSPACE", "xa|b|c" },
  { "'' a", "a" },
  { "\"\"", "" },
  { "a\"\"b", "ab" },
  { "${NOPE:-'x y'}", "x|y" },
  { "$EMPTY", "" },
  { "a\tb\nc", "a|b|c" },
  { "a\xC2\xA0" "b", "a|b" },
  { "${X}y z", "xy|z" },
  { "a << b <c", "a|<< b|<c" },
  { "cat <<\tEOF", "cat|<<\tEOF" },
  { "'a", "error: failed to process ''a': unexpected end of statement while looking for matching single-quote" },
};

static const struct expand_case backtick_cases[] = {
  { "a`$X", "a$X" },
  { "\"a`\"b\"", "a\"b" },
  { "a\\b", "a\\b" },
  { "${NOPE:-a`}b}", "a}b" },
  { "\"a\\$X\"", "a\\x" },
};

static void
make_env (struct cb_strv *env)
{
  for (size_t i = 0; i < sizeof env_items / sizeof env_items[0]; i++)
    cb_strv_push (env, env_items[i], NULL);
}

static char *
expand_one (const char *word, char escape, const struct cb_strv *env)
{
  cbuild_error err = { 0 };
  char *out = NULL;

  if (cb_expand_word (word, escape, env, &out, &err) < 0)
    {
      if (asprintf (&out, "error: %s%s", err.message, err.code == CBUILD_ERR_PARSE ? "" : " (wrong code)") < 0)
        return NULL;
    }
  return out;
}

static char *
expand_list (const char *text, const struct cb_strv *env)
{
  struct cb_strv words = CB_STRV_INIT;
  struct cb_buf b = CB_BUF_INIT;
  cbuild_error err = { 0 };

  if (cb_expand_words (text, '\\', env, &words, &err) < 0)
    cb_buf_printf (&b, NULL, "error: %s", err.message);
  else
    for (size_t i = 0; i < words.len; i++)
      cb_buf_printf (&b, NULL, "%s%s", i ? "|" : "", words.items[i]);
  cb_strv_release (&words);
  return cb_buf_detach (&b);
}

static void
check_case (const char *input, const char *got, const char *want)
{
  if (got == NULL || strcmp (got, want) != 0)
    fprintf (stderr, "input: %s\n", input);
  CHECK_STR (got, want);
}

static void
test_word_cases (const struct cb_strv *env)
{
  for (size_t i = 0; i < sizeof word_cases / sizeof word_cases[0]; i++)
    {
      char *got = expand_one (word_cases[i].word, '\\', env);
      check_case (word_cases[i].word, got, word_cases[i].want);
      free (got);
    }
  for (size_t i = 0; i < sizeof backtick_cases / sizeof backtick_cases[0]; i++)
    {
      char *got = expand_one (backtick_cases[i].word, '`', env);
      check_case (backtick_cases[i].word, got, backtick_cases[i].want);
      free (got);
    }
}

static void
test_words_cases (const struct cb_strv *env)
{
  for (size_t i = 0; i < sizeof words_cases / sizeof words_cases[0]; i++)
    {
      char *got = expand_list (words_cases[i].word, env);
      check_case (words_cases[i].word, got, words_cases[i].want);
      free (got);
    }
}

static void
test_words_append (const struct cb_strv *env)
{
  struct cb_strv words = CB_STRV_INIT;
  cbuild_error err = { 0 };

  cb_strv_push (&words, "first", NULL);
  CHECK_INT (cb_expand_words ("$X y", '\\', env, &words, &err), 0);
  CHECK_INT (words.len, 3);
  CHECK_STR (words.items[0], "first");
  CHECK_STR (words.items[2], "y");
  CHECK_INT (cb_expand_words ("'open", '\\', env, &words, &err), -1);
  CHECK_INT (words.len, 3);
  cb_strv_release (&words);
}

static void
test_nesting_limit (const struct cb_strv *env)
{
  struct cb_buf b = CB_BUF_INIT;
  char *got;

  for (int i = 0; i < 60; i++)
    cb_buf_append_str (&b, "${A:-", NULL);
  cb_buf_append_char (&b, 'x', NULL);
  for (int i = 0; i < 60; i++)
    cb_buf_append_char (&b, '}', NULL);
  got = expand_one (cb_buf_str (&b), '\\', env);
  CHECK_STR (got, "x");
  free (got);

  cb_buf_reset (&b);
  for (int i = 0; i < 70; i++)
    cb_buf_append_str (&b, "${A:-", NULL);
  cb_buf_append_char (&b, 'x', NULL);
  for (int i = 0; i < 70; i++)
    cb_buf_append_char (&b, '}', NULL);
  got = expand_one (cb_buf_str (&b), '\\', env);
  CHECK (got && strstr (got, "substitutions nested too deeply (maximum 64)") != NULL);
  free (got);
  cb_buf_release (&b);
}

/* A replacement that grows the value is bounded by CB_EXPAND_MAX_SIZE. */
static void
test_size_limit (void)
{
  struct cb_strv env = CB_STRV_INIT;
  struct cb_buf value = CB_BUF_INIT;
  char *got;

  cb_buf_append_str (&value, "V=", NULL);
  for (int i = 0; i < 100000; i++)
    cb_buf_append_char (&value, 'a', NULL);
  cb_strv_push (&env, cb_buf_str (&value), NULL);
  cb_buf_reset (&value);
  cb_buf_append_str (&value, "R=", NULL);
  for (int i = 0; i < 1000; i++)
    cb_buf_append_char (&value, 'b', NULL);
  cb_strv_push (&env, cb_buf_str (&value), NULL);
  got = expand_one ("${V//a/$R}", '\\', &env);
  CHECK (got && strstr (got, "data too large") != NULL);
  free (got);
  got = expand_one ("${V//a/b}", '\\', &env);
  CHECK (got && strlen (got) == 100000 && got[0] == 'b' && got[99999] == 'b');
  free (got);
  cb_buf_release (&value);
  cb_strv_release (&env);
}

/* Dropped nested words and slow pattern matches both count against
 * CB_EXPAND_MAX_WORK. */
static void
test_work_limit (void)
{
  struct cb_strv env = CB_STRV_INIT;
  struct cb_buf b = CB_BUF_INIT;
  char *got;

  cb_buf_append_str (&b, "BIG=", NULL);
  for (int i = 0; i < 1000000; i++)
    cb_buf_append_char (&b, 'a', NULL);
  cb_strv_push (&env, cb_buf_str (&b), NULL);
  cb_strv_push (&env, "A=set", NULL);

  cb_buf_reset (&b);
  for (int i = 0; i < 300; i++)
    cb_buf_append_str (&b, "${A:-${BIG}}", NULL);
  got = expand_one (cb_buf_str (&b), '\\', &env);
  CHECK (got && strstr (got, "substitutions need too much work") != NULL);
  free (got);

  cb_buf_reset (&b);
  cb_buf_append_str (&b, "${BIG/*", NULL);
  for (int i = 0; i < 299; i++)
    cb_buf_append_char (&b, 'b', NULL);
  cb_buf_append_str (&b, "/x}", NULL);
  got = expand_one (cb_buf_str (&b), '\\', &env);
  CHECK (got && strstr (got, "pattern matching needs too much work") != NULL);
  free (got);

  got = expand_one ("${BIG/a/b}${BIG%%a}", '\\', &env);
  CHECK (got && strlen (got) == 1999999 && got[0] == 'b');
  free (got);
  cb_buf_release (&b);
  cb_strv_release (&env);
}

static void
test_null_env (void)
{
  char *got = expand_one ("${A:-$B}x", '\\', NULL);
  CHECK_STR (got, "x");
  free (got);
}

int
main (void)
{
  struct cb_strv env = CB_STRV_INIT;

  make_env (&env);
  test_word_cases (&env);
  test_words_cases (&env);
  test_words_append (&env);
  test_nesting_limit (&env);
  test_size_limit ();
  test_work_limit ();
  test_null_env ();
  cb_strv_release (&env);
  return check_report ();
}
