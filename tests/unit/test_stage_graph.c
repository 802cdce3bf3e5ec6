/* Multi-stage builds: the stage graph (FROM, COPY --from and RUN --mount
 * from= edges, the stages a target needs), the platform ARGs, FROM
 * --platform, the binfmt_misc check, and whole builds of scratch stages
 * through the worker threads. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build.h"
#include "check.h"
#include "common/fs.h"

/* Log lines collected from the build, joined by '\n'. */
struct log_lines
{
  char text[1 << 16];
  size_t len;
  int concurrent; /* calls that overlapped another call */
  int inside;
};

static void
collect (void *user_data, int level, const char *message)
{
  struct log_lines *lines = user_data;
  size_t n = strlen (message);

  (void) level;
  if (__atomic_add_fetch (&lines->inside, 1, __ATOMIC_SEQ_CST) > 1)
    lines->concurrent++;
  if (lines->len + n + 2 < sizeof lines->text)
    {
      memcpy (lines->text + lines->len, message, n);
      lines->len += n;
      lines->text[lines->len++] = '\n';
      lines->text[lines->len] = '\0';
    }
  __atomic_sub_fetch (&lines->inside, 1, __ATOMIC_SEQ_CST);
}

struct graph_fixture
{
  cbuild_build_options *opts;
  struct cb_build_shared shared;
  struct cb_build b;
  struct log_lines lines;
};

/* Parses text and splits it into stages as cbuild_build does. */
static int
graph_open (struct graph_fixture *f, const char *text, cbuild_error *err)
{
  memset (f, 0, sizeof *f);
  f->opts = cbuild_build_options_new ();
  cbuild_build_options_set_log (f->opts, collect, &f->lines);
  if (cb_build_shared_init (&f->shared, f->opts, err) < 0)
    return -1;
  f->b.opts = f->opts;
  f->b.shared = &f->shared;
  f->b.log = &f->shared.log;
  f->b.dockerfile_name = strdup ("Dockerfile");
  cb_platform_host (&f->b.platform);
  if (cb_build_platform_args (&f->b, err) < 0)
    return -1;
  if (cb_dockerfile_parse (text, strlen (text), "Dockerfile", &f->b.df, err) < 0)
    return -1;
  return cb_build_split_stages (&f->b, err);
}

static void
graph_close (struct graph_fixture *f)
{
  for (size_t i = 0; i < f->b.n_stages; i++)
    {
      free (f->b.stages[i].name);
      free (f->b.stages[i].label);
      free (f->b.stages[i].deps);
      free (f->b.stages[i].platform_text);
      cb_strv_release (&f->b.stages[i].args);
    }
  free (f->b.stages);
  free (f->b.dockerfile_name);
  cb_strv_release (&f->b.global_args);
  cb_strv_release (&f->b.platform_args);
  cb_dockerfile_free (f->b.df);
  cb_build_shared_release (&f->shared);
  cbuild_build_options_free (f->opts);
}

static bool
has_dep (const struct cb_stage *st, size_t dep)
{
  for (size_t i = 0; i < st->n_deps; i++)
    if (st->deps[i] == dep)
      return true;
  return false;
}

static const char graph_dockerfile[] =
  "ARG BASE=base\n"
  "FROM scratch AS base\n"
  "FROM ${BASE} AS a\n"
  "FROM scratch AS b\n"
  "COPY --from=a /x /x\n"
  "FROM scratch AS unused\n"
  "RUN --mount=type=bind,from=b,target=/b true\n"
  "FROM b AS final\n"
  "COPY --from=0 /y /y\n"
  "COPY --from=busybox /bin/busybox /bb\n";

static void
test_graph_edges_and_target (void)
{
  struct graph_fixture f;
  cbuild_error err = { 0 };

  CHECK_INT (graph_open (&f, graph_dockerfile, &err), 0);
  CHECK_INT (f.b.n_stages, 5);
  CHECK_INT (cb_graph_plan (&f.b, &f.b.stages[4], &err), 0);
  CHECK (has_dep (&f.b.stages[1], 0)); /* FROM ${BASE}, a global ARG */
  CHECK_INT (f.b.stages[1].n_deps, 1);
  CHECK (has_dep (&f.b.stages[2], 1)); /* COPY --from=a */
  CHECK (has_dep (&f.b.stages[3], 2)); /* RUN --mount from=b */
  CHECK (has_dep (&f.b.stages[4], 2)); /* FROM b */
  CHECK (has_dep (&f.b.stages[4], 0)); /* COPY --from=0 */
  CHECK_INT (f.b.stages[4].n_deps, 2); /* an image adds no edge */
  CHECK (f.b.stages[0].needed && f.b.stages[1].needed && f.b.stages[2].needed && f.b.stages[4].needed);
  CHECK (!f.b.stages[3].needed);
  CHECK (f.b.stages[3].has_run);
  CHECK (!f.b.stages[4].has_run);
  CHECK (strstr (f.lines.text, "skipping stage 'unused': the target stage 'final' does not depend on it") != NULL);
  CHECK (strstr (f.lines.text, "skipping stage 'a'") == NULL);
  graph_close (&f);
}

static void
test_graph_target_a_skips_later (void)
{
  struct graph_fixture f;
  cbuild_error err = { 0 };
  int skipped = 0;

  CHECK_INT (graph_open (&f, graph_dockerfile, &err), 0);
  CHECK_INT (cb_graph_plan (&f.b, &f.b.stages[1], &err), 0);
  CHECK (f.b.stages[0].needed && f.b.stages[1].needed);
  CHECK (!f.b.stages[2].needed && !f.b.stages[3].needed && !f.b.stages[4].needed);
  for (const char *p = f.lines.text; (p = strstr (p, "skipping stage")) != NULL; p++)
    skipped++;
  CHECK_INT (skipped, 3);
  graph_close (&f);
}

static void
test_graph_unnamed_labels (void)
{
  struct graph_fixture f;
  cbuild_error err = { 0 };

  CHECK_INT (graph_open (&f, "FROM scratch\nFROM scratch AS Named\nFROM 0\n", &err), 0);
  CHECK_STR (f.b.stages[0].label, "stage-0");
  CHECK_STR (f.b.stages[1].label, "named");
  CHECK_INT (cb_graph_plan (&f.b, &f.b.stages[2], &err), 0);
  CHECK (has_dep (&f.b.stages[2], 0));
  CHECK (strstr (f.lines.text, "skipping stage 'named'") != NULL);
  graph_close (&f);
}

static void
test_graph_duplicate_name (void)
{
  struct graph_fixture f;
  cbuild_error err = { 0 };

  CHECK_INT (graph_open (&f, "FROM scratch AS x\nENV A=1\nFROM scratch AS X\n", &err), -1);
  CHECK (strstr (err.message, "Dockerfile:3") != NULL);
  CHECK (strstr (err.message, "duplicate stage name 'x'") != NULL);
  graph_close (&f);
}

static void
test_source_image_errors (void)
{
  struct graph_fixture f;
  cbuild_error err = { 0 };
  struct cb_stage *st;

  CHECK_INT (graph_open (&f, "ARG SRC=later\nFROM scratch AS first\nFROM scratch AS later\n", &err), 0);
  st = &f.b.stages[0];
  CHECK (cb_build_source_image (&f.b, st, "later", NULL, &err) == NULL);
  CHECK (strstr (err.message, "--from='later' names this stage or a later one") != NULL);
  CHECK (cb_build_source_image (&f.b, st, "$SRC", NULL, &err) == NULL);
  CHECK (strstr (err.message, "--from='later' names this stage or a later one") != NULL);
  CHECK (cb_build_source_image (&f.b, st, "first", NULL, &err) == NULL);
  CHECK (strstr (err.message, "--from='first' names this stage or a later one") != NULL);
  CHECK (cb_build_source_image (&f.b, st, "7", NULL, &err) == NULL);
  CHECK (strstr (err.message, "--from='7': there is no stage 7 before this one") != NULL);
  CHECK (cb_build_source_image (&f.b, st, "Bad:Name:x", NULL, &err) == NULL);
  CHECK (strstr (err.message, "--from='Bad:Name:x' names no earlier stage and no valid image") != NULL);
  CHECK (cb_build_source_image (&f.b, st, "$NOPE", NULL, &err) == NULL);
  CHECK (strstr (err.message, "expands to an empty name") != NULL);
  graph_close (&f);
}

static void
test_platform_args_values (void)
{
  struct graph_fixture f;
  struct cb_platform host;
  char host_text[128];
  cbuild_error err = { 0 };

  CHECK_INT (graph_open (&f, "FROM scratch\n", &err), 0);
  cb_platform_host (&host);
  cb_platform_format (&host, host_text, sizeof host_text);
  CHECK_STR (cb_env_get (&f.b.platform_args, "BUILDOS"), "linux");
  CHECK_STR (cb_env_get (&f.b.platform_args, "BUILDARCH"), host.arch);
  CHECK_STR (cb_env_get (&f.b.platform_args, "TARGETARCH"), host.arch);
  if (strcmp (host.arch, "arm64") != 0)
    CHECK_STR (cb_env_get (&f.b.platform_args, "TARGETPLATFORM"), host_text);

  /* arm64's default variant is left out, as BuildKit does. */
  f.b.platform = (struct cb_platform){ "linux", "arm64", "v8" };
  CHECK_INT (cb_build_platform_args (&f.b, &err), 0);
  CHECK_STR (cb_env_get (&f.b.platform_args, "TARGETPLATFORM"), "linux/arm64");
  CHECK_STR (cb_env_get (&f.b.platform_args, "TARGETVARIANT"), "");
  f.b.platform = (struct cb_platform){ "linux", "arm", "v7" };
  CHECK_INT (cb_build_platform_args (&f.b, &err), 0);
  CHECK_STR (cb_env_get (&f.b.platform_args, "TARGETPLATFORM"), "linux/arm/v7");
  CHECK_STR (cb_env_get (&f.b.platform_args, "TARGETVARIANT"), "v7");
  graph_close (&f);
}

/* Parses the FROM line of stage 0 of "FROM --platform=SPEC scratch". */
static int
platform_of (const char *spec, char *out, size_t size, cbuild_error *err)
{
  struct graph_fixture f;
  char text[256];
  int ret;

  snprintf (text, sizeof text, "ARG ARCH=aarch64\nFROM --platform=%s scratch\n", spec);
  ret = graph_open (&f, text, err);
  if (ret == 0)
    ret = cb_stage_set_platform (&f.b, &f.b.stages[0], &f.b.df->instructions[f.b.stages[0].first], err);
  if (ret == 0)
    cb_platform_format (&f.b.stages[0].platform, out, size);
  graph_close (&f);
  return ret;
}

static void
test_from_platform_flag (void)
{
  struct cb_platform host;
  char got[128], host_text[128];
  cbuild_error err = { 0 };

  cb_platform_host (&host);
  cb_platform_format (&host, host_text, sizeof host_text);
  CHECK_INT (platform_of ("linux/arm/v7", got, sizeof got, &err), 0);
  CHECK_STR (got, "linux/arm/v7");
  CHECK_INT (platform_of ("linux/x86_64", got, sizeof got, &err), 0);
  CHECK_STR (got, "linux/amd64");
  CHECK_INT (platform_of ("linux/$ARCH", got, sizeof got, &err), 0);
  CHECK_STR (got, "linux/arm64");
  CHECK_INT (platform_of ("Linux/S390X", got, sizeof got, &err), 0);
  CHECK_STR (got, "linux/s390x");
  CHECK_INT (platform_of ("$BUILDPLATFORM", got, sizeof got, &err), 0);
  CHECK_STR (got, host_text);
  CHECK_INT (platform_of ("armhf", got, sizeof got, &err), 0);
  CHECK_STR (got, "linux/arm/v7");

  CHECK_INT (platform_of ("windows/amd64", got, sizeof got, &err), -1);
  CHECK (strstr (err.message, "OS 'windows' is not supported") != NULL);
  CHECK_INT (platform_of ("$NOPE", got, sizeof got, &err), -1);
  CHECK (strstr (err.message, "expands to an empty platform") != NULL);
  CHECK_INT (platform_of ("linux/arm/v7/x", got, sizeof got, &err), -1);
  CHECK (strstr (err.message, "expected OS/ARCH[/VARIANT]") != NULL);
}

static void
write_text (const char *dir, const char *name, const char *text)
{
  char *path = cb_path_join (dir, name);
  FILE *fp = fopen (path, "w");

  fputs (text, fp);
  fclose (fp);
  free (path);
}

static void
test_binfmt_check (void)
{
  char dir[] = "/var/tmp/cbuild-test-binfmt-XXXXXX";
  struct cb_platform host, foreign = { "linux", "s390x", NULL };
  const char *entry = "qemu-s390x";
  cbuild_error err = { 0 };

  cb_platform_host (&host);
  if (strcmp (host.arch, "s390x") == 0)
    {
      foreign.arch = "amd64";
      entry = "qemu-x86_64";
    }
  CHECK (mkdtemp (dir) != NULL);
  CHECK_INT (cb_platform_check_runnable (&host, "/nonexistent", &err), 0);

  CHECK_INT (cb_platform_check_runnable (&foreign, "/nonexistent", &err), -1);
  CHECK (strstr (err.message, "binfmt_misc is not mounted at /nonexistent") != NULL);
  CHECK (strstr (err.message, "qemu-user-static") != NULL);
  CHECK (strstr (err.message, "differs from the host's") != NULL);

  write_text (dir, "status", "enabled\n");
  CHECK_INT (cb_platform_check_runnable (&foreign, dir, &err), -1);
  CHECK (strstr (err.message, entry) != NULL && strstr (err.message, "is missing") != NULL);

  write_text (dir, entry, "disabled\ninterpreter /usr/libexec/qemu-binfmt\n");
  CHECK_INT (cb_platform_check_runnable (&foreign, dir, &err), -1);
  CHECK (strstr (err.message, "is disabled") != NULL);

  write_text (dir, entry, "enabled\ninterpreter /usr/libexec/qemu-binfmt\nflags: F\n");
  CHECK_INT (cb_platform_check_runnable (&foreign, dir, &err), 0);

  write_text (dir, "status", "disabled\n");
  CHECK_INT (cb_platform_check_runnable (&foreign, dir, &err), -1);
  CHECK (strstr (err.message, "binfmt_misc is disabled") != NULL);
  cb_remove_tree (dir, NULL);
}

/* Runs cbuild_build on a context holding only dockerfile_text. */
static int
build_text (const char *dockerfile_text, const char *target, int jobs, struct log_lines *lines,
            cbuild_error *err)
{
  char dir[] = "/var/tmp/cbuild-test-graph-XXXXXX";
  cbuild_build_options *opts = cbuild_build_options_new ();
  cbuild_build_result *res = NULL;
  char *root;
  int ret;

  if (mkdtemp (dir) == NULL)
    return -1;
  write_text (dir, "Dockerfile", dockerfile_text);
  root = cb_path_join (dir, "root");
  cbuild_build_options_set_context (opts, dir, err);
  cbuild_build_options_set_root (opts, root, err);
  cbuild_build_options_set_jobs (opts, jobs, err);
  cbuild_build_options_set_log (opts, collect, lines);
  if (target)
    cbuild_build_options_set_target (opts, target, err);
  ret = cbuild_build (opts, &res, err);
  if (ret == 0)
    CHECK (strncmp (cbuild_build_result_digest (res), "sha256:", 7) == 0);
  cbuild_build_result_free (res);
  cbuild_build_options_free (opts);
  cb_remove_tree (dir, NULL);
  free (root);
  return ret;
}

static const char scratch_stages[] =
  "ARG V=1\n"
  "FROM scratch AS a\n"
  "ENV A=1\n"
  "FROM scratch AS b\n"
  "ARG V\n"
  "ENV B=$V\n"
  "FROM scratch AS c\n"
  "LABEL c=3\n"
  "FROM a AS d\n"
  "ENV D=4\n"
  "FROM b\n"
  "ENV F=5\n";

static void
test_build_scratch_stages (void)
{
  static struct log_lines lines;
  cbuild_error err = { 0 };

  CHECK_INT (build_text (scratch_stages, NULL, 4, &lines, &err), 0);
  CHECK (strstr (lines.text, "[b 1/3] FROM scratch AS b\n") != NULL);
  CHECK (strstr (lines.text, "[b 3/3] ENV B=$V\n") != NULL);
  CHECK (strstr (lines.text, "[stage-4 2/2] ENV F=5\n") != NULL);
  CHECK (strstr (lines.text, "skipping stage 'a'") != NULL);
  CHECK (strstr (lines.text, "skipping stage 'c'") != NULL);
  CHECK (strstr (lines.text, "skipping stage 'd'") != NULL);
  CHECK (strstr (lines.text, "[a ") == NULL);
  CHECK_INT (lines.concurrent, 0);

  memset (&lines, 0, sizeof lines);
  CHECK_INT (build_text (scratch_stages, "d", 0, &lines, &err), 0);
  CHECK (strstr (lines.text, "[a 2/2] ENV A=1\n") != NULL);
  CHECK (strstr (lines.text, "[d 2/2] ENV D=4\n") != NULL);
  CHECK (strstr (lines.text, "skipping stage 'b'") != NULL);
  CHECK (strstr (lines.text, "skipping stage 'stage-4'") != NULL);
}

static void
test_build_single_stage_unlabeled (void)
{
  static struct log_lines lines;
  cbuild_error err = { 0 };

  CHECK_INT (build_text ("FROM scratch\nENV A=1\n", NULL, 1, &lines, &err), 0);
  CHECK (strstr (lines.text, "[1/2] FROM scratch\n") != NULL);
  CHECK (strstr (lines.text, "[2/2] ENV A=1\n") != NULL);
  CHECK (strstr (lines.text, "skipping") == NULL);
}

static void
test_build_failure_names_stage (void)
{
  static struct log_lines lines;
  cbuild_error err = { 0 };

  CHECK_INT (build_text ("FROM scratch AS ok\nENV X=1\nFROM scratch AS bad\nLABEL a=b\nEXPOSE nope\n"
                         "FROM ok AS final\nENV Y=2\n",
                         "bad", 2, &lines, &err),
             -1);
  CHECK (strncmp (err.message, "stage 'bad' step 3/3: Dockerfile:5: ", 36) == 0);
  CHECK (strstr (err.message, "invalid port 'nope'") != NULL);

  memset (&lines, 0, sizeof lines);
  CHECK_INT (build_text ("FROM scratch AS a\nFROM scratch AS a\n", NULL, 2, &lines, &err), -1);
  CHECK (strstr (err.message, "duplicate stage name") != NULL);

  memset (&lines, 0, sizeof lines);
  CHECK_INT (build_text ("FROM scratch AS a\nFROM a\n", "nope", 2, &lines, &err), -1);
  CHECK (strstr (err.message, "target stage 'nope' could not be found") != NULL);
}

static void
test_jobs_option (void)
{
  cbuild_build_options *opts = cbuild_build_options_new ();
  cbuild_error err = { 0 };

  CHECK_INT (cbuild_build_options_set_jobs (opts, 3, &err), 0);
  CHECK_INT (cbuild_build_options_set_jobs (opts, 0, &err), 0);
  CHECK_INT (cbuild_build_options_set_jobs (opts, -1, &err), -1);
  CHECK (strstr (err.message, "invalid number of jobs -1") != NULL);
  cbuild_build_options_free (opts);
}

int
main (void)
{
  test_graph_edges_and_target ();
  test_graph_target_a_skips_later ();
  test_graph_unnamed_labels ();
  test_graph_duplicate_name ();
  test_source_image_errors ();
  test_platform_args_values ();
  test_from_platform_flag ();
  test_binfmt_check ();
  test_jobs_option ();
  test_build_scratch_stages ();
  test_build_single_stage_unlabeled ();
  test_build_failure_names_stage ();
  return check_report ();
}
