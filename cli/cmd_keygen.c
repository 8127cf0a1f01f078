/* placeholder: being written */
#include "cli/cli.h"
const char dl_help_keygen[] = "usage: dolen keygen\n";
int dl_cmd_keygen(int argc, char **argv) { (void)argc; (void)argv; return 3; }
