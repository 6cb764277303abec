// Package mysql is the database engine's MySQL and MariaDB driver
// (mysql-database-plugin and its mysql-aurora-, mysql-rds- and
// mysql-legacy- variants, whose usernames are 16 characters at most), on
// go-sql-driver/mysql.
package mysql
