package audit

import "context"

// Housekeep runs the writer's housekeeping now, as its ticker does every
// second, so that tests driving a fake clock need not wait for it.
func Housekeep(w *Writer) { w.housekeep(context.Background(), false) }
