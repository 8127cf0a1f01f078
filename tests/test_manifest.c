#include <criterion/criterion.h>
/* placeholder: being written */
Test(placeholder_manifest, none) {}
