package audit

// Crash ends the writer as a killed process would: what is queued is not
// written.
func (w *Writer) Crash() {
	close(w.abandon)
	<-w.done
}
