// The sandbox's control plane as one program: kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok, chosen by the name it is started as (as the old hyperkube and
// busybox do). kubelab's cache holds one file under four names.
//
// Why: four separate Go programs each carry their own copy of client-go, apimachinery
// and the API types (about 260 MB of code pages for the sandbox). Started from one file,
// the processes share those pages, so the machine (and a cgroup such as Binder's) holds
// them once. Each component still runs as its own process, with its upstream main: only
// the dispatch below is kubelab's.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	_ "time/tzdata" // as kube-apiserver's and kube-controller-manager's mains: CronJob time zones

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kwokconfig "sigs.k8s.io/kwok/pkg/config"
	kwokcmd "sigs.k8s.io/kwok/pkg/kwok/cmd"
	kwoklog "sigs.k8s.io/kwok/pkg/log"
	"sigs.k8s.io/kwok/pkg/utils/signals"
)

var kubernetes = map[string]func() *cobra.Command{
	"kube-apiserver":          apiserver.NewAPIServerCommand,
	"kube-controller-manager": controllermanager.NewControllerManagerCommand,
	"kube-scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
}

func main() {
	name, args := filepath.Base(os.Args[0]), os.Args[1:]
	if name == "kwok-controller" { // the name kwokctl links kwok under in a cluster's bin/
		name = "kwok"
	}
	if _, known := kubernetes[name]; !known && name != "kwok" && len(args) > 0 {
		name, args = args[0], args[1:] // `kubelab-control-plane kube-scheduler --help`
	}
	if name == "kwok" {
		os.Args = append([]string{os.Args[0]}, args...)
		runKwok()
		return
	}
	command, known := kubernetes[name]
	if !known {
		names := []string{"kwok"}
		for n := range kubernetes {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "usage: start this program as one of %v (a link of that "+
			"name), or pass the name first\n", names)
		os.Exit(2)
	}
	cmd := command()
	cmd.SetArgs(args)
	os.Exit(cli.Run(cmd))
}

// runKwok is sigs.k8s.io/kwok/cmd/kwok's main.
func runKwok() {
	// component-base registers a non-bool --version on the global flag set at init;
	// kwok has its own --version, so it starts from an empty global set, as in its own binary.
	pflag.CommandLine = pflag.NewFlagSet(os.Args[0], pflag.ExitOnError)
	flagset := pflag.NewFlagSet("global", pflag.ContinueOnError)
	flagset.ParseErrorsAllowlist.UnknownFlags = true
	flagset.Usage = func() {}

	ctx := signals.SetupSignalContext()
	ctx, logger := kwoklog.InitFlags(ctx, flagset)
	ctx, err := kwokconfig.InitFlags(ctx, flagset)
	if err != nil {
		_, _ = os.Stderr.Write([]byte(flagset.FlagUsages()))
		logger.Error("Init config flags", "err", err)
		os.Exit(1)
	}
	command := kwokcmd.NewCommand(ctx)
	command.PersistentFlags().AddFlagSet(flagset)
	if err := command.ExecuteContext(ctx); err != nil {
		logger.Error("Execute exit", "err", err)
		os.Exit(1)
	}
}
