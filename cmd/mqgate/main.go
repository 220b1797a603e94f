// Command mqgate runs the mqgate message broker.
//
// Usage:
//
//	mqgate [--config FILE] [--data-dir DIR] [--log-level LEVEL]
//	mqgate --version | mqgate version
//
// Settings come from the defaults, overlaid by the YAML file given with
// --config, overlaid by the flags given on the command line. SIGINT or SIGTERM
// shuts the broker down gracefully; a second signal kills it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/mqgate/mqgate/gateway"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && args[0] == "version" {
		fmt.Fprintln(stdout, "mqgate", version())
		return 0
	}
	cfg, showVersion, err := loadConfig(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "mqgate:", err)
		return 1
	}
	if showVersion {
		fmt.Fprintln(stdout, "mqgate", version())
		return 0
	}

	// Validate first: the logger needs a valid level.
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "mqgate: invalid configuration:\n%v\n", err)
		return 1
	}
	level, _ := gateway.ParseLogLevel(cfg.LogLevel)
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	gw, err := gateway.New(cfg, log)
	if err != nil {
		log.Error("configuration", "err", err)
		return 1
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go gateway.KeepGCFloor(ctx)
	if err := gw.Start(); err != nil {
		log.Error("start failed", "err", err)
		return 1
	}
	<-ctx.Done()
	stop() // a second signal now kills the process

	log.Info("stopping", "cause", context.Cause(ctx), "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := gw.Shutdown(sctx); err != nil {
		log.Error("shutdown failed", "err", err)
		return 1
	}
	return 0
}

// loadConfig builds the configuration from args: defaults, then the --config
// file, then only the flags given explicitly, so an unset flag never hides
// the file's value.
func loadConfig(args []string, stderr io.Writer) (cfg gateway.Config, showVersion bool, err error) {
	fs := flag.NewFlagSet("mqgate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", "", "YAML configuration `file` (default: built-in defaults)")
	dataDir := fs.String("data-dir", gateway.DefaultDataDir, "`dir`ectory of the durable store")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	fs.BoolVar(&showVersion, "version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: mqgate [flags]\n       mqgate version\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, false, err
	}
	if fs.NArg() > 0 {
		return cfg, false, fmt.Errorf("unexpected argument %q (see mqgate -h)", fs.Arg(0))
	}
	if showVersion {
		return cfg, true, nil
	}

	cfg = gateway.Default()
	if *configFile != "" {
		if cfg, err = gateway.LoadFile(*configFile); err != nil {
			return cfg, false, err
		}
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "data-dir":
			cfg.DataDir = *dataDir
		case "log-level":
			cfg.LogLevel = *logLevel
		}
	})
	return cfg, false, nil
}

// version is the main module's version stamped by the go command, or "devel"
// for a build from a work tree without version information.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
