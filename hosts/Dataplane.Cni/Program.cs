using Dataplane.Cni.Cni;

// dataplane-cni: the CNI plugin (spec 1.0.0). The runtime sets CNI_* variables and writes the network
// configuration on stdin; the result or a CNI error goes to stdout, diagnostics to stderr.
return CniMain.Run(Environment.GetEnvironmentVariable, Console.IsInputRedirected ? Console.In : null, Console.Out, Console.Error);
