using System.CommandLine;
using Dataplane.Gateway.Agent;
using Dataplane.Gateway.Run;
using Dataplane.Host.Run;

// dataplane-gateway: the transit gateway joining VMs, servers and on-prem networks to the mesh, a thin program over
// the host runtime (hosts/Dataplane.Host) like dataplane-node. Verbs: run (the gateway agent), validate (a config
// directory, offline, with the gateway's rules), status and observe (ask the running agent) — the node's formats.
var root = new RootCommand("Dataplane transit gateway: VMs, servers and on-prem networks in the mesh, with Cilium identities and policy");
root.Subcommands.Add(RunVerb.Create());
root.Subcommands.Add(HostVerbs.Observe());
root.Subcommands.Add(Dataplane.Host.Hubble.RelayCommand.Create());
root.Subcommands.Add(HostVerbs.Status());
root.Subcommands.Add(HostVerbs.Validate(new GatewayProfile()));
return root.Parse(args).Invoke();
