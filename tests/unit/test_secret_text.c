/* test_secret_text.c - connection strings without their passwords
 * (tools/secret_text.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "../../tools/secret_text.h"

static const char *masked(const char *s)
{
	static char out[512];

	tg_conninfo_masked(s, out, sizeof out);
	return out;
}

Test(secret_text, masks_a_url_password_and_keeps_the_rest)
{
	cr_assert_str_eq(masked("redis://:hunter2@redis.internal:6379/2"),
	                 "redis://:***@redis.internal:6379/2");
	cr_assert_str_eq(masked("redis://ops:hunter2@redis.internal"), "redis://ops:***@redis.internal");
	cr_assert_str_eq(masked("postgresql://tg:s3cr%40t@db:5432/fleet?sslmode=require"),
	                 "postgresql://tg:***@db:5432/fleet?sslmode=require");
	cr_assert_str_eq(masked("postgres://db/fleet?user=tg&password=s3cret&sslmode=verify-full"),
	                 "postgres://db/fleet?user=tg&password=***&sslmode=verify-full");
	cr_assert_str_eq(masked("postgresql://tg@db/fleet"), "postgresql://tg@db/fleet");
	cr_assert_str_eq(masked("unix:///run/redis/redis.sock"), "unix:///run/redis/redis.sock");
	/* an '@' in the path is no userinfo */
	cr_assert_str_eq(masked("postgresql:///fleet?host=/tmp/a@b"), "postgresql:///fleet?host=/tmp/a@b");
}

Test(secret_text, masks_the_password_of_libpq_pairs)
{
	cr_assert_str_eq(masked("host=db dbname=fleet password=s3cret user=tg"),
	                 "host=db dbname=fleet password=*** user=tg");
	cr_assert_str_eq(masked("host=db password = 's3 c\\'ret' user=tg"),
	                 "host=db password = *** user=tg");
	cr_assert_str_eq(masked("PASSWORD=x"), "PASSWORD=***");
	cr_assert_str_eq(masked("host=/tmp port=5433 dbname=fleet"), "host=/tmp port=5433 dbname=fleet");
	cr_assert_str_eq(masked("passwordx=kept"), "passwordx=kept");
	cr_assert_str_eq(masked("host='a b' password='unterminated"), "host='a b' password=***");
	cr_assert_str_eq(masked(""), "");
}

Test(secret_text, cuts_to_the_buffer_without_showing_a_password)
{
	char out[16];

	tg_conninfo_masked("redis://:hunter2hunter2@h", out, sizeof out);
	cr_assert_str_eq(out, "redis://:***@h");
	tg_conninfo_masked("host=averyveryverylonghost password=hunter2", out, sizeof out);
	cr_assert_eq(strlen(out), sizeof out - 1);
	cr_assert_null(strstr(out, "hunter"));
}
