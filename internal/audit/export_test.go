package audit

import "context"

// Housekeep runs the writer's housekeeping and tidying now, as its
// tickers do every second, so that tests driving a fake clock need not
// wait for them.
func Housekeep(w *Writer) {
	w.housekeep(context.Background(), false)
	w.tidy(context.Background())
}
