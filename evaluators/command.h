/* command.h - the "command" evaluator's pieces shared between its files
 * (command.c: the processes; command_reply.c: reading a reply) and reached
 * by the tests and the fuzz target. Internal (qdi_) API. */
#ifndef ELITES_COMMAND_H
#define ELITES_COMMAND_H

#include "src/internal.h"

/* Reads a program's reply text into sol: objective, sol->m measures, meta.
 * last_line: when the whole text is not JSON, its last non-empty line is
 * read (fork mode). id: the request's, which a reply's "id" must match.
 * On failure returns QD_EEVAL with the reason in err; *protocol is set when
 * the reply cannot belong to this request (not JSON, not an object, another
 * id), *with_tail when the reason is about the process (its stderr tail
 * belongs after it). sol's other fields are left alone. */
int qdi_command_read_reply(const char *text, int last_line, uint64_t id, qd_solution *sol, char *err, size_t errlen,
                           int *protocol, int *with_tail);

#endif
