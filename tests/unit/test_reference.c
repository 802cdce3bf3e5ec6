/* Reference parsing against the normalization Docker applies
 * (distribution/reference ParseNormalizedNamed). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/error.h"
#include "registry/reference.h"

#define DIGEST_A "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct valid_case
{
  const char *input;
  const char *domain;
  const char *path;
  const char *tag;    /* NULL: none */
  const char *digest; /* NULL: none */
  const char *formatted;
};

static const struct valid_case valid_cases[] = {
  { "debian", "docker.io", "library/debian", "latest", NULL, "docker.io/library/debian:latest" },
  { "debian:bookworm-slim", "docker.io", "library/debian", "bookworm-slim", NULL,
    "docker.io/library/debian:bookworm-slim" },
  { "user/app", "docker.io", "user/app", "latest", NULL, "docker.io/user/app:latest" },
  { "docker.io/debian", "docker.io", "library/debian", "latest", NULL, "docker.io/library/debian:latest" },
  { "index.docker.io/user/app:1", "docker.io", "user/app", "1", NULL, "docker.io/user/app:1" },
  { "index.docker.io/debian", "docker.io", "library/debian", "latest", NULL,
    "docker.io/library/debian:latest" },
  { "registry-1.docker.io/library/debian", "registry-1.docker.io", "library/debian", "latest", NULL,
    "registry-1.docker.io/library/debian:latest" },
  { "localhost/app", "localhost", "app", "latest", NULL, "localhost/app:latest" },
  { "localhost:5000/app", "localhost:5000", "app", "latest", NULL, "localhost:5000/app:latest" },
  { "127.0.0.1:5000/x/y:tag", "127.0.0.1:5000", "x/y", "tag", NULL, "127.0.0.1:5000/x/y:tag" },
  { "[::1]:5000/app:v1", "[::1]:5000", "app", "v1", NULL, "[::1]:5000/app:v1" },
  { "ghcr.io/o/r@" DIGEST_A, "ghcr.io", "o/r", NULL, DIGEST_A, "ghcr.io/o/r@" DIGEST_A },
  { "ghcr.io/o/r:1.2@" DIGEST_A, "ghcr.io", "o/r", "1.2", DIGEST_A, "ghcr.io/o/r:1.2@" DIGEST_A },
  { "debian@" DIGEST_A, "docker.io", "library/debian", NULL, DIGEST_A, "docker.io/library/debian@" DIGEST_A },
  /* A first component with an uppercase letter is a registry host. */
  { "Registry.Example/app", "Registry.Example", "app", "latest", NULL, "Registry.Example/app:latest" },
  { "Foo/bar", "Foo", "bar", "latest", NULL, "Foo/bar:latest" },
  { "a.b.c/d-e/f_g/h__i/j.k/l--m:Tag_1.x-y", "a.b.c", "d-e/f_g/h__i/j.k/l--m", "Tag_1.x-y", NULL,
    "a.b.c/d-e/f_g/h__i/j.k/l--m:Tag_1.x-y" },
  /* Without a slash, "localhost:5000" is a Docker Hub name with a tag. */
  { "localhost:5000", "docker.io", "library/localhost", "5000", NULL, "docker.io/library/localhost:5000" },
};

struct invalid_case
{
  const char *input;
  const char *message;
};

static const struct invalid_case invalid_cases[] = {
  { "", "invalid reference '': empty reference" },
  { "Foo:bar", "invalid reference 'Foo:bar': repository name must be lowercase" },
  { "user/App", "invalid reference 'user/App': repository name must be lowercase" },
  { "ghcr.io/Org/app", "invalid reference 'ghcr.io/Org/app': repository name must be lowercase" },
  { "debian:-x", "invalid reference 'debian:-x': invalid tag '-x' (letters, digits, '_', '.' and '-', "
                 "at most 128, not starting with '.' or '-')" },
  { "debian:.x", "invalid reference 'debian:.x': invalid tag '.x' (letters, digits, '_', '.' and '-', "
                 "at most 128, not starting with '.' or '-')" },
  { "debian:", "invalid reference 'debian:': invalid tag '' (letters, digits, '_', '.' and '-', "
               "at most 128, not starting with '.' or '-')" },
  { "debian@sha256:abc", "invalid reference 'debian@sha256:abc': invalid digest 'sha256:abc' "
                         "(expected 'sha256:' and 64 lowercase hex digits)" },
  { "debian@sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
    "invalid reference 'debian@sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855': "
    "invalid digest 'sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855' "
    "(expected 'sha256:' and 64 lowercase hex digits)" },
  { "debian@md5:d41d8cd98f00b204e9800998ecf8427e",
    "invalid reference 'debian@md5:d41d8cd98f00b204e9800998ecf8427e': invalid digest "
    "'md5:d41d8cd98f00b204e9800998ecf8427e' (expected 'sha256:' and 64 lowercase hex digits)" },
  { "a/b:c:d", "invalid reference 'a/b:c:d': invalid repository name 'a/b:c'" },
  { "user//app", "invalid reference 'user//app': invalid repository name 'user//app'" },
  { "user/app/", "invalid reference 'user/app/': missing repository name" },
  { "ghcr.io/", "invalid reference 'ghcr.io/': missing repository name" },
  { "-app", "invalid reference '-app': invalid repository name 'library/-app'" },
  { "app-", "invalid reference 'app-': invalid repository name 'library/app-'" },
  { "a...b", "invalid reference 'a...b': invalid repository name 'library/a...b'" },
  { "a___b", "invalid reference 'a___b': invalid repository name 'library/a___b'" },
  { "my app", "invalid reference 'my app': invalid repository name 'library/my app'" },
  { "host:99999/app", "invalid reference 'host:99999/app': invalid registry host 'host:99999'" },
  { "-host.io/app", "invalid reference '-host.io/app': invalid registry host '-host.io'" },
  { "host..io/app", "invalid reference 'host..io/app': invalid registry host 'host..io'" },
  { "[zz]:5000/app", "invalid reference '[zz]:5000/app': invalid registry host '[zz]:5000'" },
  { "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "invalid reference 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855': "
    "a repository name cannot be a 64-character hexadecimal string" },
};

static void
test_valid_case (const struct valid_case *c)
{
  struct cb_reference ref;
  cbuild_error err = { 0 };
  char *formatted;

  if (cb_reference_parse (c->input, &ref, &err) < 0)
    {
      fprintf (stderr, "parse '%s' failed: %s\n", c->input, err.message);
      CHECK (0);
      return;
    }
  CHECK_STR (ref.domain, c->domain);
  CHECK_STR (ref.path, c->path);
  if (c->tag)
    CHECK_STR (ref.tag, c->tag);
  else
    CHECK (ref.tag == NULL);
  if (c->digest)
    CHECK_STR (ref.digest, c->digest);
  else
    CHECK (ref.digest == NULL);
  formatted = cb_reference_format (&ref);
  CHECK_STR (formatted, c->formatted);
  free (formatted);
  cb_reference_release (&ref);
}

static void
test_reference_valid_table (void)
{
  for (size_t i = 0; i < sizeof valid_cases / sizeof valid_cases[0]; i++)
    test_valid_case (&valid_cases[i]);
}

static void
test_reference_invalid_table (void)
{
  for (size_t i = 0; i < sizeof invalid_cases / sizeof invalid_cases[0]; i++)
    {
      struct cb_reference ref = { NULL, NULL, NULL, NULL };
      cbuild_error err = { 0 };

      CHECK_INT (cb_reference_parse (invalid_cases[i].input, &ref, &err), -1);
      CHECK_INT (err.code, CBUILD_ERR_INVALID);
      CHECK_STR (err.message, invalid_cases[i].message);
      CHECK (ref.domain == NULL && ref.path == NULL);
    }
}

static void
test_reference_tag_length (void)
{
  char input[300];
  struct cb_reference ref;
  cbuild_error err = { 0 };

  /* 128 characters is the longest tag Docker accepts. */
  strcpy (input, "app:");
  memset (input + 4, 'a', 128);
  input[4 + 128] = '\0';
  CHECK_INT (cb_reference_parse (input, &ref, &err), 0);
  CHECK_INT (strlen (ref.tag), 128);
  cb_reference_release (&ref);

  strcat (input, "a");
  CHECK_INT (cb_reference_parse (input, &ref, &err), -1);
  CHECK (strstr (err.message, "invalid tag") != NULL);
}

static void
test_reference_name_length (void)
{
  char input[400];
  struct cb_reference ref;
  cbuild_error err = { 0 };

  /* "docker.io/" + 245 characters is 255, the maximum name length. */
  strcpy (input, "u/");
  memset (input + 2, 'a', 243);
  input[245] = '\0';
  CHECK_INT (cb_reference_parse (input, &ref, &err), 0);
  cb_reference_release (&ref);

  strcat (input, "a");
  CHECK_INT (cb_reference_parse (input, &ref, &err), -1);
  CHECK (strstr (err.message, "repository name is longer than 255 characters") != NULL);
}

static void
test_reference_repository (void)
{
  struct cb_reference ref;
  cbuild_error err = { 0 };
  char *repo;

  CHECK_INT (cb_reference_parse ("127.0.0.1:5000/x/y:tag", &ref, &err), 0);
  repo = cb_reference_repository (&ref);
  CHECK_STR (repo, "127.0.0.1:5000/x/y");
  free (repo);
  cb_reference_release (&ref);
  cb_reference_release (&ref); /* a released reference can be released again */
  CHECK (ref.domain == NULL);
}

int
main (void)
{
  test_reference_valid_table ();
  test_reference_invalid_table ();
  test_reference_tag_length ();
  test_reference_name_length ();
  test_reference_repository ();
  return check_report ();
}
