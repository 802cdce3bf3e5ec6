/* .dockerignore: each case is a file's text, a path and whether docker
 * (moby/patternmatcher's MatchesOrParentMatches) leaves the path out of the
 * build context. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "parser/dockerignore.h"

struct match_case
{
  const char *patterns;
  const char *path;
  bool excluded;
};

static const struct match_case match_cases[] = {
  { "*.go", "main.go", true },
  { "*.go", "cmd/main.go", false },
  { "**/*.go", "cmd/x/main.go", true },
  { "**/*.go", "main.go", true },
  { "docs", "docs", true },
  { "docs", "docs/a/b.md", true },
  { "docs", "docsx", false },
  { "docs", "src/docs", false },
  { "docs/", "docs/a.md", true },
  { "/docs", "docs/a.md", true },
  { "./docs", "docs", true },
  { "docs/../src", "src/main.c", true },
  { "docs/../src", "docs/x", false },
  { "a//b/./c", "a/b/c", true },
  { "a/*/c", "a/b/c", true },
  { "a/*/c", "a/b/c/d", true },
  { "a/*/c", "a/c", false },
  { "a/*/c", "a/b/x/c", false },
  { "a/**/c", "a/c", true },
  { "a/**/c", "a/b/c", true },
  { "a/**/c", "a/b/x/c", true },
  { "a/**/c", "a/bc", false },
  { "a**b", "ab", true },
  { "a**b", "a/x/b", true },
  { "a**b", "axb", false },
  { "a/**", "a", false },
  { "a/**", "a/b", true },
  { "a/**", "ab", false },
  { "foo**", "foobar/x", true },
  { "**", "anything/at/all", true },
  { "*", "x", true },
  { "*", "a/b", true },
  { "?.txt", "a.txt", true },
  { "?.txt", "ab.txt", false },
  { "?.txt", "\xC3\xA9.txt", true },
  { "?.txt", "/.txt", false },
  { "[a-c].txt", "b.txt", true },
  { "[a-c].txt", "d.txt", false },
  { "[^a].txt", "b.txt", true },
  { "[^a].txt", "a.txt", false },
  /* Go's regexp reads [!a] as the set of '!' and 'a', not a negation. */
  { "[!a].txt", "a.txt", true },
  { "[!a].txt", "b.txt", false },
  { "x[\\]]", "x]", true },
  { "\\*.txt", "*.txt", true },
  { "\\*.txt", "a.txt", false },
  { "a.b", "a.b", true },
  { "a.b", "axb", false },
  { "a.b*", "axb", false },
  { "a+b*", "a+bc", true },
  { "(x)*", "(x)y", true },
  { "{a,b}", "{a,b}", true },
  { "{a,b}", "a", false },
  { "node_modules", "node_modules/a/b/c.js", true },
  { "node_modules", "src/node_modules/x", false },
  { "**/node_modules", "src/node_modules/x", true },
  { "**/.git", ".git", true },
  { "**/.git", "sub/.git/config", true },
  { "**/.git", "sub/x.git", false },
  { "**.log", "a/b.log", true },
  { "*.md\n!README.md", "a.md", true },
  { "*.md\n!README.md", "README.md", false },
  { "docs\n!docs/keep.md", "docs/a.md", true },
  { "docs\n!docs/keep.md", "docs/keep.md", false },
  { "docs\n!docs/keep.md", "docs", true },
  { "!a.txt\n*.txt", "a.txt", true },
  { "*\n!src\nsrc/*.tmp", "src/a.c", false },
  { "*\n!src\nsrc/*.tmp", "src/x.tmp", true },
  { "*\n!src\nsrc/*.tmp", "other", true },
  { "*\n!src\nsrc/*.tmp\n!src/keep.tmp", "src/keep.tmp", false },
  { "# comment\n  # not a comment", "# not a comment", true },
  { "# comment\n  # not a comment", "comment", false },
  { "  spaced.txt  \t", "spaced.txt", true },
  { "! keep.txt\n*", "keep.txt", true },
  { "*\n! keep.txt", "keep.txt", false },
  { "a.txt\r\nb.txt\r\n", "b.txt", true },
  { "\xEF\xBB\xBF" "a.txt", "a.txt", true },
  { "", "anything", false },
  { "a", ".", false },
  { "[z-a]", "m", false },
};

struct parse_error_case
{
  const char *patterns;
  const char *message;
};

static const struct parse_error_case error_cases[] = {
  { "!", ".dockerignore:1: illegal exclusion pattern '!'" },
  { "a\n!/", ".dockerignore:2: illegal exclusion pattern '!'" },
  { "[", ".dockerignore:1: invalid pattern '[': syntax error in pattern" },
  { "ok\na\\", ".dockerignore:2: invalid pattern 'a\\': syntax error in pattern" },
  { "[]a]", ".dockerignore:1: invalid pattern '[]a]': syntax error in pattern" },
  { "[a-]", ".dockerignore:1: invalid pattern '[a-]': syntax error in pattern" },
  { "[^]", ".dockerignore:1: invalid pattern '[^]': syntax error in pattern" },
  { "x[ab", ".dockerignore:1: invalid pattern 'x[ab': syntax error in pattern" },
};

static void
test_matches (void)
{
  for (size_t i = 0; i < sizeof match_cases / sizeof match_cases[0]; i++)
    {
      const struct match_case *c = &match_cases[i];
      struct cb_ignore *ig = NULL;
      cbuild_error err = { 0 };
      bool got;

      if (cb_ignore_parse (c->patterns, strlen (c->patterns), &ig, &err) < 0)
        {
          fprintf (stderr, "patterns '%s': %s\n", c->patterns, err.message);
          CHECK (false);
          continue;
        }
      got = cb_ignore_excluded (ig, c->path);
      if (got != c->excluded)
        fprintf (stderr, "patterns '%s', path '%s': got %d\n", c->patterns, c->path, got);
      CHECK (got == c->excluded);
      cb_ignore_free (ig);
    }
}

static void
test_parse_errors (void)
{
  for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++)
    {
      struct cb_ignore *ig = NULL;
      cbuild_error err = { 0 };

      CHECK_INT (cb_ignore_parse (error_cases[i].patterns, strlen (error_cases[i].patterns), &ig, &err), -1);
      CHECK_INT (err.code, CBUILD_ERR_PARSE);
      CHECK_STR (err.message, error_cases[i].message);
      CHECK (ig == NULL);
    }
}

struct below_case
{
  const char *patterns;
  const char *dir;
  bool may_include;
};

static const struct below_case below_cases[] = {
  { "vendor", "vendor", false },
  { "vendor\n!vendor/keep", "vendor", true },
  { "*\n!vendor/keep", "other", false },
  { "*\n!src/*.go", "src", true },
  { "*\n!src/*.go", "lib", false },
  { "*\n!src/*.go", "src/sub", false },
  { "*\n!s?c/*.go", "src", true },
  { "*\n!**/keep", "anything", true },
  { "*\n!src", "src", true },
  { "*\n!src", "src/deep/er", true },
  { "*\n![ab]", "c", true },
  { "*\n!a/b/c", "a/b", true },
  { "*\n!a/b/c", "a/x", false },
};

static void
test_may_include_below (void)
{
  for (size_t i = 0; i < sizeof below_cases / sizeof below_cases[0]; i++)
    {
      const struct below_case *c = &below_cases[i];
      struct cb_ignore *ig = NULL;
      cbuild_error err = { 0 };
      bool got;

      CHECK_INT (cb_ignore_parse (c->patterns, strlen (c->patterns), &ig, &err), 0);
      got = cb_ignore_may_include_below (ig, c->dir);
      if (got != c->may_include)
        fprintf (stderr, "patterns '%s', dir '%s': got %d\n", c->patterns, c->dir, got);
      CHECK (got == c->may_include);
      cb_ignore_free (ig);
    }
}

static void
test_limits (void)
{
  size_t big = 70000;
  char *line = malloc (big + 1);
  struct cb_ignore *ig = NULL;
  cbuild_error err = { 0 };

  memset (line, 'a', big);
  line[big] = '\0';
  CHECK_INT (cb_ignore_parse (line, big, &ig, &err), -1);
  CHECK_STR (err.message, ".dockerignore:1: line longer than 65535 bytes");
  free (line);
  CHECK_INT (cb_ignore_parse ("a\nb\0c", 5, &ig, &err), -1);
  CHECK_STR (err.message, ".dockerignore:2: NUL character in the line");
  CHECK (!cb_ignore_excluded (NULL, "x"));
  CHECK (!cb_ignore_may_include_below (NULL, "x"));
}

int
main (void)
{
  test_matches ();
  test_parse_errors ();
  test_may_include_below ();
  test_limits ();
  return check_report ();
}
