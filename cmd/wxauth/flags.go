package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// errHelp: -h was asked for and answered; the command exits 0.
var errHelp = errors.New("help")

// command is a subcommand's flag set and its one-line synopsis.
type command struct {
	*flag.FlagSet
	synopsis string
}

func newCommand(name, synopsis string) command {
	return command{FlagSet: flag.NewFlagSet("wxauth "+name, flag.ContinueOnError), synopsis: synopsis}
}

// usage writes the synopsis and one entry per flag.
func (c command) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n", c.synopsis)
	has := false
	c.VisitAll(func(*flag.Flag) { has = true })
	if !has {
		return
	}
	fmt.Fprintln(w, "\nFlags:")
	c.SetOutput(w)
	c.PrintDefaults()
}

// parse reads args: -h prints the usage on stdout (errHelp, exit 0); a bad
// flag or a stray argument says what is wrong and prints the usage on
// stderr (errUsage, exit 2). extra is how many arguments may follow.
func (c command) parse(args []string, extra int, stdout, stderr io.Writer) error {
	c.SetOutput(io.Discard)
	c.Usage = func() {}
	err := c.Parse(args)
	if err == nil && c.NArg() > extra {
		err = fmt.Errorf("unexpected argument %q", c.Arg(extra))
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		c.usage(stdout)
		return errHelp
	}
	fmt.Fprintf(stderr, "wxauth: %v\n\n", err)
	c.usage(stderr)
	return errUsage
}
