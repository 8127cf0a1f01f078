#include <criterion/criterion.h>
/* placeholder: being written */
Test(placeholder_hexb64, none) {}
