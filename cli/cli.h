#ifndef CBUILD_CLI_H
#define CBUILD_CLI_H

/* Subcommands: each takes argv with the subcommand's name at argv[0] and
 * returns the exit status. */
int cli_build (int argc, char **argv);
int cli_parse (int argc, char **argv);
int cli_prune (int argc, char **argv);
int cli_du (int argc, char **argv);

const char *cli_help_text (void);
/* Prints "cbuild: error: ..." and a hint, and returns 2. */
int cli_usage_error (const char *message);

#endif
