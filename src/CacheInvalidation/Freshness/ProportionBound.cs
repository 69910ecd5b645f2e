namespace CacheInvalidation.Freshness;

/// <summary>
/// What a sample supports about a share in its population: the Wilson score interval (which stays inside [0, 1] and is
/// not degenerate at 0 or all divergent — the usual case is "0 found"), narrowed by the finite-population correction: a
/// sample of the whole population is exact.
/// </summary>
internal static class ProportionBound
{
    /// <summary>The interval holding the population's share with <paramref name="confidence"/>, for <paramref name="found"/> of <paramref name="sampled"/> drawn without replacement from <paramref name="population"/>.</summary>
    public static (double Lower, double Upper) Interval(long found, long sampled, long population, double confidence)
    {
        if (sampled <= 0)
        {
            return (0, 1);
        }

        double p = (double)found / sampled;
        double correction = population > 1 && population >= sampled ? Math.Sqrt((double)(population - sampled) / (population - 1)) : 1.0;
        double z = NormalQuantile(0.5 + (confidence / 2)) * correction;
        if (z <= 0)
        {
            return (p, p);
        }

        double z2 = z * z;
        double center = (p + (z2 / (2 * sampled))) / (1 + (z2 / sampled));
        double half = z / (1 + (z2 / sampled)) * Math.Sqrt((p * (1 - p) / sampled) + (z2 / (4.0 * sampled * sampled)));
        return (Math.Max(0, center - half), Math.Min(1, center + half));
    }

    /// <summary>The standard normal quantile (Acklam's rational approximation; relative error below 1.2e-9).</summary>
    public static double NormalQuantile(double probability)
    {
        if (probability <= 0 || probability >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(probability), probability, "A probability strictly between 0 and 1 is required.");
        }

        ReadOnlySpan<double> a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
        ReadOnlySpan<double> b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01];
        ReadOnlySpan<double> c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
        ReadOnlySpan<double> d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
        const double low = 0.02425;
        if (probability < low || probability > 1 - low)
        {
            double q = Math.Sqrt(-2 * Math.Log(probability < low ? probability : 1 - probability));
            double x = Horner(c, q) / ((Horner(d, q) * q) + 1);
            return probability < low ? x : -x;
        }

        double r = probability - 0.5;
        double s = r * r;
        return Horner(a, s) * r / ((Horner(b, s) * s) + 1);
    }

    /// <summary>c[0]·xⁿ⁻¹ + … + c[n−1].</summary>
    private static double Horner(ReadOnlySpan<double> coefficients, double x)
    {
        double result = 0;
        foreach (double coefficient in coefficients)
        {
            result = (result * x) + coefficient;
        }

        return result;
    }
}
