package store

import (
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/campaignstats/campaignstats/internal/domain"
)

// Unavailable reports whether err means the stores cannot be reached now — domain.ErrUnavailable, or a connection
// to a backend server that was refused, broken or timed out — rather than a fault of the request or of the code.
// Nothing was committed by a call that failed so; the API answers 503 "retry later" for it.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, domain.ErrUnavailable) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}
