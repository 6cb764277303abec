// Package logfile is the server's log_file: an io.Writer appending to a
// file that it rotates by age (log_rotate_duration) and size
// (log_rotate_bytes), keeping log_rotate_max_files old files. The server
// package builds one when the configuration names a log_file.
package logfile
