#include <criterion/criterion.h>
/* placeholder: being written */
Test(placeholder_norm_sex, none) {}
