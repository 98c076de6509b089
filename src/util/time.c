#include "util/time.h"

#include <stdbool.h>

#include "util/assert.h"
#include "util/err.h"

/* Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's civil_from_days
 * algorithm, written from its published description). */
static void civil_from_days(int64_t days, int64_t *year, int *month, int *day) {
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t day_of_era = days - era * 146097;
    int64_t year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t month_index = (5 * day_of_year + 2) / 153;
    *day = (int)(day_of_year - (153 * month_index + 2) / 5 + 1);
    *month = (int)(month_index < 10 ? month_index + 3 : month_index - 9);
    *year = year_of_era + era * 400 + (*month <= 2 ? 1 : 0);
}

static void put_digits(char *out, int64_t value, int width) {
    for (int i = width - 1; i >= 0; i--) {
        out[i] = (char)('0' + value % 10);
        value /= 10;
    }
}

void stoa_time_format_rfc3339(int64_t unix_ms, char text[STOA_TIME_RFC3339_BYTES]) {
    STOA_ASSERT(text != NULL);
    int64_t const ms_per_day = 86400 * STOA_MS_PER_S;
    /* Clamp to years 0000..9999 so the fixed-width layout always holds. */
    int64_t const unix_ms_min = INT64_C(-62167219200000);
    int64_t const unix_ms_max = INT64_C(253402300799999);
    unix_ms = unix_ms < unix_ms_min ? unix_ms_min : unix_ms;
    unix_ms = unix_ms > unix_ms_max ? unix_ms_max : unix_ms;
    int64_t days = unix_ms / ms_per_day;
    int64_t ms_of_day = unix_ms % ms_per_day;
    if (ms_of_day < 0) {
        ms_of_day += ms_per_day;
        days -= 1;
    }
    int64_t year = 0;
    int month = 0;
    int day = 0;
    civil_from_days(days, &year, &month, &day);
    /* YYYY-MM-DDTHH:MM:SS.mmmZ */
    put_digits(text + 0, year, 4);
    text[4] = '-';
    put_digits(text + 5, month, 2);
    text[7] = '-';
    put_digits(text + 8, day, 2);
    text[10] = 'T';
    put_digits(text + 11, ms_of_day / 3600000, 2);
    text[13] = ':';
    put_digits(text + 14, ms_of_day / 60000 % 60, 2);
    text[16] = ':';
    put_digits(text + 17, ms_of_day / 1000 % 60, 2);
    text[19] = '.';
    put_digits(text + 20, ms_of_day % 1000, 3);
    text[23] = 'Z';
    text[24] = '\0';
}

static int unit_scale_ms(const char *unit, size_t length, int64_t *scale) {
    if (length == 0 || (length == 1 && unit[0] == 's')) {
        *scale = STOA_MS_PER_S;
    } else if (length == 2 && unit[0] == 'm' && unit[1] == 's') {
        *scale = 1;
    } else if (length == 1 && unit[0] == 'm') {
        *scale = 60 * STOA_MS_PER_S;
    } else if (length == 1 && unit[0] == 'h') {
        *scale = 3600 * STOA_MS_PER_S;
    } else {
        return STOA_ERR_MALFORMED;
    }
    return STOA_OK;
}

int stoa_duration_parse(const char *text, size_t length, int64_t *duration_ms) {
    STOA_ASSERT(text != NULL && duration_ms != NULL);
    size_t digits = 0;
    int64_t value = 0;
    bool overflow = false;
    while (digits < length && text[digits] >= '0' && text[digits] <= '9') {
        int64_t digit = text[digits] - '0';
        if (value > (INT64_MAX - digit) / 10) {
            overflow = true;
        } else {
            value = value * 10 + digit;
        }
        digits++;
    }
    if (digits == 0) {
        return STOA_ERR_MALFORMED;
    }
    int64_t scale = 0;
    int result = unit_scale_ms(text + digits, length - digits, &scale);
    if (result != STOA_OK) {
        return result;
    }
    if (overflow || value > INT64_MAX / scale) {
        return STOA_ERR_RANGE;
    }
    *duration_ms = value * scale;
    return STOA_OK;
}
