/* placeholder: being written */
#include "cli/cli.h"
const char dl_help_check[] = "usage: dolen check\n";
int dl_cmd_check(int argc, char **argv) { (void)argc; (void)argv; return 3; }
