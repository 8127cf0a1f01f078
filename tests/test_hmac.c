#include <criterion/criterion.h>
/* placeholder: being written */
Test(placeholder_hmac, none) {}
