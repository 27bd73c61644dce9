using System.Security.Cryptography;
using System.Text;
using Dataplane.Control.Config;

namespace Dataplane.Core.Tests.Config;

public class MacAddressTests
{
    [Theory]
    [InlineData("02:00:00:00:00:01", 0x0200_0000_0001UL)]
    [InlineData("AA:bb:CC:dd:EE:ff", 0xAABB_CCDD_EEFFUL)]
    [InlineData("02-00-5e-10-00-00", 0x0200_5E10_0000UL)]
    [InlineData("ff:ff:ff:ff:ff:ff", 0xFFFF_FFFF_FFFFUL)]
    public void ParsesBothSeparatorsAnyCase(string text, ulong value)
    {
        Assert.Equal(value, MacAddress.Parse(text).Value);
        Assert.True(MacAddress.TryParse(text, out var mac));
        Assert.Equal(value, mac.Value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("02:00:00:00:00")]
    [InlineData("02:00:00:00:00:001")]
    [InlineData("02:00:00-00:00:01")]
    [InlineData("02.00.00.00.00.01")]
    [InlineData("0g:00:00:00:00:01")]
    [InlineData("2:0:0:0:0:1")]
    [InlineData(" 02:00:00:00:00:01")]
    public void RejectsMalformed(string text)
    {
        Assert.False(MacAddress.TryParse(text, out _));
        Assert.Throws<FormatException>(() => MacAddress.Parse(text));
    }

    [Fact]
    public void FormatsLowerCaseWithColons()
    {
        Assert.Equal("02:00:00:00:00:01", new MacAddress(0x0200_0000_0001UL).ToString());
        Assert.Equal("aa:bb:cc:dd:ee:ff", MacAddress.Parse("AA-BB-CC-DD-EE-FF").ToString());
        Assert.Equal("00:00:00:00:00:00", default(MacAddress).ToString());
    }

    [Fact]
    public void RoundTripsWireOrder()
    {
        var mac = MacAddress.Parse("01:23:45:67:89:ab");
        Span<byte> buf = stackalloc byte[6];
        mac.WriteTo(buf);
        Assert.Equal(new byte[] { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab }, buf.ToArray());
        Assert.Equal(mac, MacAddress.Read(buf));
    }

    [Fact]
    public void RejectsValuesWiderThan48Bits() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new MacAddress(1UL << 48));

    [Fact]
    public void Flags()
    {
        Assert.True(MacAddress.Parse("01:00:5e:00:00:01").IsMulticast);
        Assert.True(MacAddress.Parse("ff:ff:ff:ff:ff:ff").IsMulticast);
        Assert.True(MacAddress.Parse("33:33:00:00:00:01").IsMulticast);
        Assert.False(MacAddress.Parse("02:00:00:00:00:01").IsMulticast);
        Assert.True(default(MacAddress).IsZero);
        Assert.False(MacAddress.Parse("00:00:00:00:00:01").IsZero);
    }

    [Fact]
    public void DeriveIsDeterministicLocallyAdministeredUnicast()
    {
        var a = MacAddress.Derive("default/web");
        Assert.Equal(a, MacAddress.Derive("default/web"));
        Assert.NotEqual(a, MacAddress.Derive("default/web2"));
        Assert.False(a.IsMulticast);
        Assert.True(a.IsLocallyAdministered);

        Span<byte> six = stackalloc byte[6];
        a.WriteTo(six);
        Assert.Equal(0x02, six[0]);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes("default/web"));
        Assert.Equal(hash[..5], six[1..].ToArray());
    }
}
