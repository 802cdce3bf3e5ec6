/* The cbuild command: a thin layer over libcbuild. It only turns flags into
 * build options, prints log lines, and chooses the exit status. */

#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cbuild/cbuild.h>

#include "cli/cli.h"

static int
usage_error (const char *message)
{
  fprintf (stderr, "cbuild: error: %s\nRun 'cbuild --help' for usage.\n", message);
  return 2;
}

static const char main_help[] =
  "Usage: cbuild [build] [OPTIONS] CONTEXT\n"
  "       cbuild parse [-f FILE] [--json]\n"
  "       cbuild prune [--keep-storage SIZE] [--filter until=DURATION] [--root DIR]\n"
  "       cbuild du [--root DIR]\n"
  "\n"
  "Builds the Dockerfile in CONTEXT into an OCI image, without a daemon.\n"
  "CONTEXT '-' reads the Dockerfile from standard input and builds it with an\n"
  "empty context. On success prints one line per -t name, NAME@DIGEST, or the\n"
  "image digest when there is no name. Progress and RUN output go to standard\n"
  "error.\n"
  "\n"
  "Build options:\n"
  "  -f, --file PATH              Dockerfile to build (default CONTEXT/Dockerfile);\n"
  "                               - reads it from standard input\n"
  "  -t, --tag NAME               name the image, such as registry.example.com/app:1.0;\n"
  "                               repeatable; the image is stored under each name\n"
  "      --build-arg NAME[=VALUE] set a build argument; a bare NAME takes its value\n"
  "                               from the environment; repeatable\n"
  "      --target STAGE           build this stage (default: the last one)\n"
  "      --push                   push the image to every -t name\n"
  "      --output SPEC            also write the image: type=oci,dest=FILE writes an OCI\n"
  "                               archive, type=oci,dest=DIR,tar=false an OCI layout\n"
  "                               directory; repeatable\n"
  "      --registry-mirror HOST   pull docker.io images from HOST[:PORT] first; repeatable\n"
  "      --insecure-registry HOST reach HOST[:PORT] over plain HTTP; loopback registries\n"
  "                               always are; repeatable\n"
  "      --runtime PATH           OCI runtime for RUN (default: the first of runc and crun\n"
  "                               that can start a container here)\n"
  "      --secret SPEC            a secret for RUN --mount=type=secret: id=ID,src=FILE\n"
  "                               reads a file, id=ID,env=NAME an environment\n"
  "                               variable, id=ID the variable ID if set, else the\n"
  "                               file ID; repeatable\n"
  "      --platform OS/ARCH       build for this platform, such as linux/arm64 (default:\n"
  "                               this machine's); RUN for another architecture needs a\n"
  "                               binfmt_misc emulator\n"
  "      --label KEY=VALUE        set a label on the image; repeatable\n"
  "      --add-host NAME:IP       add an /etc/hosts entry for RUN steps; repeatable\n"
  "      --build-context NAME=DIR|NAME=docker-image://REF\n"
  "                               a named context: COPY --from=NAME reads DIR, and FROM,\n"
  "                               COPY --from and RUN --mount from=NAME use REF; repeatable\n"
  "      --network MODE           network of RUN steps: default or host (this machine's\n"
  "                               network) or none\n"
  "      --iidfile FILE           write the image ID (its config digest) to FILE\n"
  "      --metadata-file FILE     write the image's digests and names to FILE as JSON,\n"
  "                               as docker buildx does\n"
  "      --progress MODE          auto, plain, tty or rawjson print plain lines; quiet\n"
  "                               and none are -q\n"
  "      --ssh ID[=SOCKET]        forward an SSH agent to RUN --mount=type=ssh: ID=SOCKET\n"
  "                               names its socket, a bare ID (such as default) the\n"
  "                               socket in SSH_AUTH_SOCK; repeatable\n"
  "      --jobs N                 build at most N independent stages at the same time\n"
  "                               (default: the number of CPUs)\n"
  "      --pull                   ask the registry for base images on every build\n"
  "                               (default: reuse an image pulled before, as docker\n"
  "                               build does)\n"
  "      --no-cache               run every step instead of reusing cached results\n"
  "      --no-cache-filter STAGE  build STAGE without the cache; repeatable\n"
  "      --cache-to SPEC          export the build cache after the build:\n"
  "                               type=registry,ref=REPO:TAG pushes it to a registry,\n"
  "                               type=local,dest=DIR writes an OCI layout directory;\n"
  "                               add mode=max to export every stage's steps (default\n"
  "                               mode=min: the final image's), ignore-error=true to\n"
  "                               only warn when the export fails; repeatable\n"
  "      --cache-from SPEC        reuse steps from an exported build cache:\n"
  "                               type=registry,ref=REPO:TAG or type=local,src=DIR;\n"
  "                               only the layers of steps that hit are fetched, and\n"
  "                               a cache that cannot be read is a warning; repeatable\n"
  "      --check                  run only the Dockerfile build checks; exit non-zero\n"
  "                               when any check fires\n"
  "      --root DIR               state directory: blobs, layers and the local image\n"
  "                               store (default $XDG_DATA_HOME/cbuild, else\n"
  "                               ~/.local/share/cbuild)\n"
  "  -q, --quiet                  print only errors, warnings and the result\n"
  "\n"
  "Parse options:\n"
  "  -f, --file PATH              Dockerfile to parse (default ./Dockerfile)\n"
  "      --json                   print the syntax tree as JSON (see docs/parse-json.md)\n"
  "\n"
  "Prune options (removes build cache, then blobs and extracted layers that\n"
  "no named image needs; without options, all build cache):\n"
  "      --keep-storage SIZE      keep at most SIZE of cache (such as 10GB, 512MiB),\n"
  "                               removing the least recently used entries first\n"
  "      --filter until=DURATION  remove cache entries unused for DURATION (24h, 90m)\n"
  "\n"
  "du prints the state directory's usage by kind.\n"
  "\n"
  "Other:\n"
  "  -h, --help                   show this help\n"
  "      --version                show the version\n"
  "\n"
  "Credentials for registries come from $DOCKER_CONFIG/config.json, else\n"
  "~/.docker/config.json (the \"auths\" entries that 'docker login' writes).\n";

int
main (int argc, char **argv)
{
  if (argc >= 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0))
    {
      fputs (main_help, stdout);
      return 0;
    }
  if (argc >= 2 && strcmp (argv[1], "--version") == 0)
    {
      printf ("cbuild %s\n", cbuild_version ());
      return 0;
    }
  if (argc >= 2 && strcmp (argv[1], "parse") == 0)
    return cli_parse (argc - 1, argv + 1);
  if (argc >= 2 && strcmp (argv[1], "prune") == 0)
    return cli_prune (argc - 1, argv + 1);
  if (argc >= 2 && strcmp (argv[1], "du") == 0)
    return cli_du (argc - 1, argv + 1);
  if (argc >= 2 && strcmp (argv[1], "build") == 0)
    return cli_build (argc - 1, argv + 1);
  if (argc < 2)
    return usage_error ("missing build context (such as '.')");
  return cli_build (argc, argv);
}

const char *
cli_help_text (void)
{
  return main_help;
}

int
cli_usage_error (const char *message)
{
  return usage_error (message);
}
