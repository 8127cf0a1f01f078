#include <criterion/criterion.h>
/* placeholder: being written */
Test(placeholder_csv_read, none) {}
