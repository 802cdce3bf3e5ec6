/* Heredocs of RUN, COPY and ADD. BuildKit's frontend runs a RUN whose
 * whole command is one heredoc as a script: from a file when it starts with
 * a shebang, else through the shell. In any other RUN the shell reads the
 * heredocs, so the builder substitutes no variable there. COPY and ADD
 * write each heredoc to a file named after its delimiter, substituting the
 * stage's variables unless the delimiter was quoted. */
#include "builder/heredoc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "parser/expand.h"

int
cb_heredoc_check_name (const struct cb_heredoc *doc, cbuild_error *err)
{
  const char *name = doc->name;

  if (name[0] == '\0' || strchr (name, '/') || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "heredoc delimiter '%s' cannot be a file name", name);
  return 0;
}

/* The shell gets the command line with each body and delimiter after it,
 * as a shell script would have them. */
static int
inline_heredocs (const struct cb_instruction *ins, struct cb_buf *cmd, cbuild_error *err)
{
  if (cb_buf_append_str (cmd, ins->args[0], err) < 0)
    return -1;
  for (size_t i = 0; i < ins->n_heredocs; i++)
    if (cb_buf_printf (cmd, err, "\n%s%s", ins->heredocs[i].content, ins->heredocs[i].name) < 0)
      return -1;
  return 0;
}

int
cb_heredoc_run_command (const struct cb_instruction *ins, char **command, const struct cb_heredoc **script,
                        cbuild_error *err)
{
  cleanup_buf struct cb_buf cmd = CB_BUF_INIT;
  const struct cb_heredoc *whole;

  *command = NULL;
  *script = NULL;
  if (ins->json || ins->n_args != 1)
    return cb_error_set (err, CBUILD_ERR_INVALID, "RUN in exec form cannot take a heredoc");
  whole = cb_instruction_heredoc_for_arg (ins, ins->args[0]);
  if (whole && strncmp (whole->content, "#!", 2) == 0)
    {
      if (cb_heredoc_check_name (whole, err) < 0)
        return -1;
      if (cb_buf_printf (&cmd, err, "%s/%s", CB_HEREDOC_PIPES_DIR, whole->name) < 0)
        return -1;
      *script = whole;
    }
  else if (whole)
    {
      if (cb_buf_append_str (&cmd, whole->content, err) < 0)
        return -1;
    }
  else if (inline_heredocs (ins, &cmd, err) < 0)
    return -1;
  *command = cb_buf_detach (&cmd);
  return 0;
}

/* Puts a '\' before each quote, so that the lexer takes quotes literally
 * while it still substitutes variables and handles escapes: BuildKit
 * lexes COPY heredocs with SkipProcessQuotes. An escaped character is
 * copied with its escape, as the lexer consumes the pair. */
static int
escape_quotes (const char *text, struct cb_buf *out, cbuild_error *err)
{
  for (const char *p = text; *p; p++)
    {
      if (*p == '\\' && p[1] != '\0')
        {
          if (cb_buf_append (out, p, 2, err) < 0)
            return -1;
          p++;
          continue;
        }
      if ((*p == '\'' || *p == '"') && cb_buf_append_char (out, '\\', err) < 0)
        return -1;
      if (cb_buf_append_char (out, *p, err) < 0)
        return -1;
    }
  return 0;
}

int
cb_heredoc_copy_content (const struct cb_heredoc *doc, const struct cb_strv *env, char **out, cbuild_error *err)
{
  cleanup_buf struct cb_buf escaped = CB_BUF_INIT;

  *out = NULL;
  if (!doc->expand)
    {
      *out = strdup (doc->content);
      return *out ? 0 : cb_error_nomem (err);
    }
  cb_buf_init (&escaped, CB_EXPAND_MAX_SIZE);
  if (escape_quotes (doc->content, &escaped, err) < 0)
    return -1;
  /* BuildKit lexes these with '\' as escape, whatever the escape directive
   * sets. */
  return cb_expand_word (cb_buf_str (&escaped), '\\', env, out, err);
}

int
cb_heredoc_run_args (struct cb_stage *st, const struct cb_instruction *ins, struct cb_strv *argv,
                     const struct cb_heredoc **script, cbuild_error *err)
{
  cleanup_free char *command = NULL;
  struct cb_instruction shell_form;
  char *args[1];

  *script = NULL;
  if (ins->n_heredocs == 0)
    return cb_stage_command_args (st, ins, argv, err);
  if (cb_heredoc_run_command (ins, &command, script, err) < 0)
    return -1;
  shell_form = *ins;
  args[0] = command;
  shell_form.args = args;
  shell_form.n_args = 1;
  return cb_stage_command_args (st, &shell_form, argv, err);
}

int
cb_heredoc_mount_script (struct cb_build *b, struct cb_run_mounts *mounts, const struct cb_heredoc *script,
                         cbuild_error *err)
{
  cleanup_free char *dir = cb_run_mounts_scratch (mounts, b, "pipes", err);
  cleanup_free char *path = NULL;

  if (dir == NULL)
    return -1;
  path = cb_path_join (dir, script->name);
  if (path == NULL)
    return cb_error_nomem (err);
  if (chmod (dir, 0755) < 0)
    return cb_error_sys (err, errno, "chmod '%s'", dir);
  if (cb_write_file_atomic (path, script->content, strlen (script->content), 0755, err) < 0)
    return -1;
  return cb_run_mounts_add_bind (mounts, dir, CB_HEREDOC_PIPES_DIR, true, err);
}

/* Writes each heredoc's content, substituted as BuildKit does, to a file
 * (mode 0644) named after its delimiter in a new directory. */
static int
write_heredoc_files (struct cb_stage *st, const char *dir, const struct cb_heredoc *const *docs, size_t n_docs,
                     struct cb_strv *names, cbuild_error *err)
{
  cleanup_strv struct cb_strv env = CB_STRV_INIT;

  if (cb_stage_expand_env (st, &env, err) < 0)
    return -1;
  for (size_t i = 0; i < n_docs; i++)
    {
      cleanup_free char *content = NULL;
      cleanup_free char *path = cb_path_join (dir, docs[i]->name);

      if (path == NULL)
        return cb_error_nomem (err);
      if (cb_heredoc_check_name (docs[i], err) < 0 || cb_heredoc_copy_content (docs[i], &env, &content, err) < 0)
        return -1;
      if (cb_write_file_atomic (path, content, strlen (content), 0644, err) < 0
          || cb_strv_push (names, docs[i]->name, err) < 0)
        return -1;
    }
  return 0;
}

int
cb_heredoc_copy (struct cb_build *b, struct cb_stage *st, const struct cb_copy_request *base,
                 const struct cb_heredoc *const *docs, size_t n_docs, cbuild_error *err)
{
  cleanup_strv struct cb_strv names = CB_STRV_INIT;
  cleanup_free char *dir = cb_make_temp_dir (b->work_dir, "heredoc", err);
  struct cb_copy_request req = *base;
  cbuild_error ignored = { 0 };
  int ret;

  if (dir == NULL)
    return -1;
  ret = write_heredoc_files (st, dir, docs, n_docs, &names, err);
  req.context_dir = dir;
  req.ignore = NULL;
  req.sources = (const char *const *) names.items;
  req.n_sources = names.len;
  req.is_add = false;
  if (ret == 0)
    ret = cb_copy_from_context (&req, err);
  cb_remove_tree (dir, &ignored);
  return ret;
}
