using System.Net;
using Dataplane.Cni.Cni;
using Dataplane.Cni.Ipam;

namespace Dataplane.Cni.Tests;

/// <summary>The plugin's side of the CNI protocol that needs no namespace: configuration, environment, versions, result shapes.</summary>
public sealed class CniProtocolTests
{
    private static CniEnv Env(string command, string? args = null, string ifName = "eth0") =>
        CniEnv.Read(k => k switch
        {
            "CNI_COMMAND" => command,
            "CNI_CONTAINERID" => "abc",
            "CNI_NETNS" => "/var/run/netns/x",
            "CNI_IFNAME" => ifName,
            "CNI_ARGS" => args,
            _ => null,
        });

    [Fact]
    public void VersionAnswersEveryVersionFromZeroOneToOneZero()
    {
        var v = CniPlugin.Execute(Env("VERSION"), """{"cniVersion":"0.3.1"}""")!;
        Assert.Equal("0.3.1", v["cniVersion"]!.GetValue<string>());
        Assert.Equal(["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"], v["supportedVersions"]!.AsArray().Select(x => x!.GetValue<string>()));
        Assert.Equal("1.1.0", CniPlugin.Execute(Env("VERSION"), "")!["cniVersion"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("{", CniCode.DecodeFailure)]
    [InlineData("[1]", CniCode.DecodeFailure)]
    [InlineData("""{"cniVersion":"2.0.0","name":"n"}""", CniCode.IncompatibleVersion)]
    [InlineData("""{"cniVersion":"1.0.0"}""", CniCode.InvalidNetworkConfig)]
    [InlineData("""{"cniVersion":"1.0.0","name":"a/b"}""", CniCode.InvalidNetworkConfig)]
    [InlineData("""{"cniVersion":"1.0.0","name":"n","mtu":"big"}""", CniCode.InvalidNetworkConfig)]
    [InlineData("""{"cniVersion":"1.0.0","name":"../../x"}""", CniCode.InvalidNetworkConfig)]
    [InlineData("""{"cniVersion":"1.0.0","name":".hidden"}""", CniCode.InvalidNetworkConfig)]
    [InlineData("""{"cniVersion":"1.0.0","name":"a\u0000b"}""", CniCode.InvalidNetworkConfig)]
    [InlineData("""{"cniVersion":"1.0.0","name":""}""", CniCode.InvalidNetworkConfig)]
    [InlineData("""{"cniVersion":"1.0.0","name":"n","ipam":{"type":"../bin/sh"}}""", CniCode.InvalidNetworkConfig)]
    [InlineData("""{"cniVersion":"1.0.0","name":"n","ipam":{"subnets":["198.18.64.1/24"]}}""", CniCode.InvalidNetworkConfig)]
    [InlineData("""{"cniVersion":"1.0.0","name":"n","ipam":{"subnets":["198.18.64.0/31"]}}""", CniCode.InvalidNetworkConfig)]
    [InlineData("""{"cniVersion":"1.0.0","name":"n","args":{"cni":{"labels":[{"key":"app"}]}}}""", CniCode.InvalidNetworkConfig)]
    public void BadConfigurationsGetTheSpecsCode(string json, int code) =>
        Assert.Equal(code, Assert.Throws<CniException>(() => NetConf.Parse(json)).Code);

    [Fact]
    public void ConfigurationReadsSubnetsLabelsAndDefaults()
    {
        var c = NetConf.Parse("""
            {"cniVersion":"1.0.0","name":"pods","type":"dataplane-cni","unknownKey":{"x":1},
             "ipam":{"subnets":["198.18.64.0/24","fd00:18::/64"]},
             "runtimeConfig":{"labels":[{"key":"tier","value":"db"}]},
             "args":{"cni":{"labels":[{"key":"app","value":"web"}]}}}
            """);
        Assert.Equal([IPNetwork.Parse("198.18.64.0/24"), IPNetwork.Parse("fd00:18::/64")], c.Subnets);
        Assert.Equal(new Dictionary<string, string> { ["tier"] = "db", ["app"] = "web" }, c.Labels);
        Assert.Equal((1500, "default", NetConf.DefaultDataDir, Dataplane.Host.Api.AgentSocket.DefaultPath), (c.Mtu, c.Namespace, c.DataDir, c.AgentSocket));
    }

    [Fact]
    public void EnvironmentIsCheckedPerCommand()
    {
        var env = Env("ADD", "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web");
        Assert.Equal("shop", env.Arg("K8S_POD_NAMESPACE"));
        Assert.Equal("web", env.Arg("K8S_POD_NAME"));
        Assert.Equal(CniCode.InvalidEnvironment, Assert.Throws<CniException>(() => Env("ADD", "novalue")).Code);
        Assert.Equal(CniCode.InvalidEnvironment, Assert.Throws<CniException>(() => Env("ADD", ifName: "much-too-long-name").Require(netns: true)).Code);
        Assert.Equal(CniCode.InvalidEnvironment, Assert.Throws<CniException>(() => CniEnv.Read(_ => null)).Code);
        Assert.Equal(CniCode.InvalidEnvironment, Assert.Throws<CniException>(() => CniPlugin.Execute(Env("BOGUS"), "{}")).Code);
        // STATUS and GC are CNI 1.1: a 1.0.0 configuration is the wrong version for them.
        Assert.Equal(CniCode.IncompatibleVersion, Assert.Throws<CniException>(() => CniPlugin.Execute(Env("GC"), """{"cniVersion":"1.0.0","name":"n"}""")).Code);
        Assert.Equal(CniCode.IncompatibleVersion, Assert.Throws<CniException>(() => CniPlugin.Execute(Env("STATUS"), """{"cniVersion":"1.0.0","name":"n"}""")).Code);
        Assert.Equal(CniCode.InvalidNetworkConfig, Assert.Throws<CniException>(() => CniPlugin.Execute(Env("GC"), """{"cniVersion":"1.1.0","name":"n"}""")).Code);
    }

    [Fact]
    public void ResultsHaveTheShapeOfTheRequestedVersion()
    {
        var net = IPNetwork.Parse("198.18.64.0/24");
        List<Allocation> ips = [new(net, IPAddress.Parse("198.18.64.2"), IPAddress.Parse("198.18.64.1"))];
        var v1 = CniResult.Build("1.0.0", "lxc0123456789ab", "02:00:00:00:00:01", "eth0", "02:00:00:00:00:02", "/var/run/netns/p", ips, PodRoute.Defaults(ips));
        Assert.Equal("""
            {"cniVersion":"1.0.0","interfaces":[{"name":"lxc0123456789ab","mac":"02:00:00:00:00:01"},{"name":"eth0","mac":"02:00:00:00:00:02","sandbox":"/var/run/netns/p"}],"ips":[{"address":"198.18.64.2/24","gateway":"198.18.64.1","interface":1}],"routes":[{"dst":"0.0.0.0/0","gw":"198.18.64.1"}],"dns":{}}
            """, v1.ToJsonString());
        var v04 = CniResult.Build("0.4.0", "h", "m", "eth0", "m2", "/p", ips, PodRoute.Defaults(ips));
        Assert.Equal("4", v04["ips"]![0]!["version"]!.GetValue<string>());
        var v02 = CniResult.Build("0.2.0", "h", "m", "eth0", "m2", "/p", ips, PodRoute.Defaults(ips));
        Assert.Equal("198.18.64.2/24", v02["ip4"]!["ip"]!.GetValue<string>());
        Assert.Null(v02["interfaces"]);
        var err = CniResult.Error("1.0.0", 7, "bad", null);
        Assert.Equal("""{"cniVersion":"1.0.0","code":7,"msg":"bad"}""", err.ToJsonString());
    }

    /// <summary>The reproduction: a newline in a container id split the plugin's log line; it is refused, code 4.</summary>
    [Theory]
    [InlineData("CNI_CONTAINERID", "abc\ndataplane-cni: forged line")]
    [InlineData("CNI_CONTAINERID", "../../etc")]
    [InlineData("CNI_CONTAINERID", "_leading")]
    [InlineData("CNI_CONTAINERID", "")]
    [InlineData("CNI_CONTAINERID", "abc\0def")]
    [InlineData("CNI_IFNAME", "abcdefghijklmnop")]
    [InlineData("CNI_IFNAME", "..")]
    [InlineData("CNI_IFNAME", "a\0")]
    [InlineData("CNI_NETNS", "relative/ns")]
    [InlineData("CNI_NETNS", "/var/run/netns/../../etc/passwd")]
    [InlineData("CNI_NETNS", "/run/netns/x\0y")]
    [InlineData("CNI_IFNAME", "eth0\n")]
    [InlineData("CNI_IFNAME", "a:b")]
    [InlineData("CNI_ARGS", "K8S_POD_NAME=web\nx")]
    [InlineData("CNI_ARGS", "K8S_POD_NAME=a/b")]
    [InlineData("CNI_ARGS", "K8S_POD_NAMESPACE=has space")]
    public void IdentifiersAreValidatedAtTheBoundary(string variable, string value)
    {
        var env = new Dictionary<string, string?>
        {
            ["CNI_COMMAND"] = "ADD", ["CNI_CONTAINERID"] = "c0ffee", ["CNI_NETNS"] = "/nonexistent", ["CNI_IFNAME"] = "eth0",
        };
        env[variable] = value;
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = CniMain.Run(k => env.GetValueOrDefault(k), new StringReader("""{"cniVersion":"1.0.0","name":"n","agentSocket":"/nonexistent.sock"}"""), stdout, stderr);
        Assert.Equal(1, exit);
        var error = System.Text.Json.Nodes.JsonNode.Parse(stdout.ToString())!;
        Assert.Equal(CniCode.InvalidEnvironment, error["code"]!.GetValue<int>());
        Assert.Single(stderr.ToString().TrimEnd('\n').Split('\n'));   // one log line, whatever the value held
    }

    [Theory]
    [InlineData("quirky_hopper")]   // podman passes container names in K8S_POD_NAME
    [InlineData("web-7d9f8b6c5-x2x4z")]
    [InlineData("a.b")]
    public void RuntimeNamesThatArePlainAreAccepted(string name)
    {
        var env = new Dictionary<string, string?>
        {
            ["CNI_COMMAND"] = "ADD", ["CNI_CONTAINERID"] = "0123456789abcdef", ["CNI_NETNS"] = "/nonexistent-netns", ["CNI_IFNAME"] = "eth0",
            ["CNI_ARGS"] = $"IgnoreUnknown=1;K8S_POD_NAMESPACE={name};K8S_POD_NAME={name}",
        };
        var stdout = new StringWriter();
        CniMain.Run(k => env.GetValueOrDefault(k), new StringReader("""{"cniVersion":"1.0.0","name":"n"}"""), stdout, new StringWriter());
        // Past the names, it fails on the namespace that does not exist.
        Assert.Equal(CniCode.ContainerUnknown, System.Text.Json.Nodes.JsonNode.Parse(stdout.ToString())!["code"]!.GetValue<int>());
    }

    [Fact]
    public void OversizedStdinIsADecodeFailure()
    {
        var stdout = new StringWriter();
        int exit = CniMain.Run(k => k == "CNI_COMMAND" ? "VERSION" : null, new StringReader(new string(' ', CniMain.MaxStdinChars + 1)), stdout, new StringWriter());
        Assert.Equal(1, exit);
        Assert.Equal(CniCode.DecodeFailure, System.Text.Json.Nodes.JsonNode.Parse(stdout.ToString())!["code"]!.GetValue<int>());
    }

    [Fact]
    public void AKeyGivenTwiceIsADecodeFailureNotACrash()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = CniMain.Run(k => k == "CNI_COMMAND" ? "VERSION" : null,
            new StringReader("""{"cniVersion":"1.0.0","name":"a","name":"b"}"""), stdout, stderr);
        Assert.Equal(1, exit);
        Assert.Equal(CniCode.DecodeFailure, System.Text.Json.Nodes.JsonNode.Parse(stdout.ToString())!["code"]!.GetValue<int>());
        Assert.DoesNotContain("internal error", stderr.ToString());
    }
}
