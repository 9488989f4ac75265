#include "domain/currency.h"

#include <algorithm>
#include <array>

namespace cs::domain {
namespace {

// ISO 4217 list one (codes and minor units), as published by the maintenance agency (SIX) in
// 2025: the active codes plus ANG, HRK, SLL and ZWL, withdrawn since 2023 but still read. Keep it
// sorted by code (a unit test checks).
constexpr std::array kCurrencies = {
    Currency{"AED", 2, "", false},        // UAE Dirham
    Currency{"AFN", 2, "", false},        // Afghani
    Currency{"ALL", 2, "", false},        // Lek
    Currency{"AMD", 2, "", false},        // Armenian Dram
    Currency{"ANG", 2, "", true},         // Netherlands Antillean Guilder
    Currency{"AOA", 2, "", false},        // Kwanza
    Currency{"ARS", 2, "", false},        // Argentine Peso
    Currency{"AUD", 2, "", false},        // Australian Dollar
    Currency{"AWG", 2, "", false},        // Aruban Florin
    Currency{"AZN", 2, "", false},        // Azerbaijan Manat
    Currency{"BAM", 2, "", false},        // Convertible Mark
    Currency{"BBD", 2, "", false},        // Barbados Dollar
    Currency{"BDT", 2, "", false},        // Taka
    Currency{"BGN", 2, "", false},        // Bulgarian Lev
    Currency{"BHD", 3, "", false},        // Bahraini Dinar
    Currency{"BIF", 0, "", false},        // Burundi Franc
    Currency{"BMD", 2, "", false},        // Bermudian Dollar
    Currency{"BND", 2, "", false},        // Brunei Dollar
    Currency{"BOB", 2, "", false},        // Boliviano
    Currency{"BOV", 2, "", false},        // Mvdol
    Currency{"BRL", 2, "", false},        // Brazilian Real
    Currency{"BSD", 2, "", false},        // Bahamian Dollar
    Currency{"BTN", 2, "", false},        // Ngultrum
    Currency{"BWP", 2, "", false},        // Pula
    Currency{"BYN", 2, "", false},        // Belarusian Ruble
    Currency{"BZD", 2, "", false},        // Belize Dollar
    Currency{"CAD", 2, "", false},        // Canadian Dollar
    Currency{"CDF", 2, "", false},        // Congolese Franc
    Currency{"CHE", 2, "", false},        // WIR Euro
    Currency{"CHF", 2, "", false},        // Swiss Franc
    Currency{"CHW", 2, "", false},        // WIR Franc
    Currency{"CLF", 4, "", false},        // Unidad de Fomento
    Currency{"CLP", 0, "", false},        // Chilean Peso
    Currency{"CNY", 2, "", false},        // Yuan Renminbi
    Currency{"COP", 2, "", false},        // Colombian Peso
    Currency{"COU", 2, "", false},        // Unidad de Valor Real
    Currency{"CRC", 2, "", false},        // Costa Rican Colon
    Currency{"CUC", 2, "", false},        // Peso Convertible
    Currency{"CUP", 2, "", false},        // Cuban Peso
    Currency{"CVE", 2, "", false},        // Cabo Verde Escudo
    Currency{"CZK", 2, "", false},        // Czech Koruna
    Currency{"DJF", 0, "", false},        // Djibouti Franc
    Currency{"DKK", 2, "", false},        // Danish Krone
    Currency{"DOP", 2, "", false},        // Dominican Peso
    Currency{"DZD", 2, "", false},        // Algerian Dinar
    Currency{"EGP", 2, "", false},        // Egyptian Pound
    Currency{"ERN", 2, "", false},        // Nakfa
    Currency{"ETB", 2, "", false},        // Ethiopian Birr
    Currency{"EUR", 2, "\u20ac", false},  // Euro
    Currency{"FJD", 2, "", false},        // Fiji Dollar
    Currency{"FKP", 2, "", false},        // Falkland Islands Pound
    Currency{"GBP", 2, "\u00a3", false},  // Pound Sterling
    Currency{"GEL", 2, "", false},        // Lari
    Currency{"GHS", 2, "", false},        // Ghana Cedi
    Currency{"GIP", 2, "", false},        // Gibraltar Pound
    Currency{"GMD", 2, "", false},        // Dalasi
    Currency{"GNF", 0, "", false},        // Guinean Franc
    Currency{"GTQ", 2, "", false},        // Quetzal
    Currency{"GYD", 2, "", false},        // Guyana Dollar
    Currency{"HKD", 2, "", false},        // Hong Kong Dollar
    Currency{"HNL", 2, "", false},        // Lempira
    Currency{"HRK", 2, "", true},         // Kuna
    Currency{"HTG", 2, "", false},        // Gourde
    Currency{"HUF", 2, "", false},        // Forint
    Currency{"IDR", 2, "", false},        // Rupiah
    Currency{"ILS", 2, "", false},        // New Israeli Sheqel
    Currency{"INR", 2, "", false},        // Indian Rupee
    Currency{"IQD", 3, "", false},        // Iraqi Dinar
    Currency{"IRR", 2, "", false},        // Iranian Rial
    Currency{"ISK", 0, "", false},        // Iceland Krona
    Currency{"JMD", 2, "", false},        // Jamaican Dollar
    Currency{"JOD", 3, "", false},        // Jordanian Dinar
    Currency{"JPY", 0, "\u00a5", false},  // Yen
    Currency{"KES", 2, "", false},        // Kenyan Shilling
    Currency{"KGS", 2, "", false},        // Som
    Currency{"KHR", 2, "", false},        // Riel
    Currency{"KMF", 0, "", false},        // Comorian Franc
    Currency{"KPW", 2, "", false},        // North Korean Won
    Currency{"KRW", 0, "", false},        // Won
    Currency{"KWD", 3, "", false},        // Kuwaiti Dinar
    Currency{"KYD", 2, "", false},        // Cayman Islands Dollar
    Currency{"KZT", 2, "", false},        // Tenge
    Currency{"LAK", 2, "", false},        // Lao Kip
    Currency{"LBP", 2, "", false},        // Lebanese Pound
    Currency{"LKR", 2, "", false},        // Sri Lanka Rupee
    Currency{"LRD", 2, "", false},        // Liberian Dollar
    Currency{"LSL", 2, "", false},        // Loti
    Currency{"LYD", 3, "", false},        // Libyan Dinar
    Currency{"MAD", 2, "", false},        // Moroccan Dirham
    Currency{"MDL", 2, "", false},        // Moldovan Leu
    Currency{"MGA", 2, "", false},        // Malagasy Ariary
    Currency{"MKD", 2, "", false},        // Denar
    Currency{"MMK", 2, "", false},        // Kyat
    Currency{"MNT", 2, "", false},        // Tugrik
    Currency{"MOP", 2, "", false},        // Pataca
    Currency{"MRU", 2, "", false},        // Ouguiya
    Currency{"MUR", 2, "", false},        // Mauritius Rupee
    Currency{"MVR", 2, "", false},        // Rufiyaa
    Currency{"MWK", 2, "", false},        // Malawi Kwacha
    Currency{"MXN", 2, "", false},        // Mexican Peso
    Currency{"MXV", 2, "", false},        // Mexican Unidad de Inversion (UDI)
    Currency{"MYR", 2, "", false},        // Malaysian Ringgit
    Currency{"MZN", 2, "", false},        // Mozambique Metical
    Currency{"NAD", 2, "", false},        // Namibia Dollar
    Currency{"NGN", 2, "", false},        // Naira
    Currency{"NIO", 2, "", false},        // Cordoba Oro
    Currency{"NOK", 2, "", false},        // Norwegian Krone
    Currency{"NPR", 2, "", false},        // Nepalese Rupee
    Currency{"NZD", 2, "", false},        // New Zealand Dollar
    Currency{"OMR", 3, "", false},        // Rial Omani
    Currency{"PAB", 2, "", false},        // Balboa
    Currency{"PEN", 2, "", false},        // Sol
    Currency{"PGK", 2, "", false},        // Kina
    Currency{"PHP", 2, "", false},        // Philippine Peso
    Currency{"PKR", 2, "", false},        // Pakistan Rupee
    Currency{"PLN", 2, "", false},        // Zloty
    Currency{"PYG", 0, "", false},        // Guarani
    Currency{"QAR", 2, "", false},        // Qatari Rial
    Currency{"RON", 2, "", false},        // Romanian Leu
    Currency{"RSD", 2, "", false},        // Serbian Dinar
    Currency{"RUB", 2, "", false},        // Russian Ruble
    Currency{"RWF", 0, "", false},        // Rwanda Franc
    Currency{"SAR", 2, "", false},        // Saudi Riyal
    Currency{"SBD", 2, "", false},        // Solomon Islands Dollar
    Currency{"SCR", 2, "", false},        // Seychelles Rupee
    Currency{"SDG", 2, "", false},        // Sudanese Pound
    Currency{"SEK", 2, "", false},        // Swedish Krona
    Currency{"SGD", 2, "", false},        // Singapore Dollar
    Currency{"SHP", 2, "", false},        // Saint Helena Pound
    Currency{"SLE", 2, "", false},        // Leone
    Currency{"SLL", 2, "", true},         // Leone
    Currency{"SOS", 2, "", false},        // Somali Shilling
    Currency{"SRD", 2, "", false},        // Surinam Dollar
    Currency{"SSP", 2, "", false},        // South Sudanese Pound
    Currency{"STN", 2, "", false},        // Dobra
    Currency{"SVC", 2, "", false},        // El Salvador Colon
    Currency{"SYP", 2, "", false},        // Syrian Pound
    Currency{"SZL", 2, "", false},        // Lilangeni
    Currency{"THB", 2, "", false},        // Baht
    Currency{"TJS", 2, "", false},        // Somoni
    Currency{"TMT", 2, "", false},        // Turkmenistan New Manat
    Currency{"TND", 3, "", false},        // Tunisian Dinar
    Currency{"TOP", 2, "", false},        // Pa’anga
    Currency{"TRY", 2, "", false},        // Turkish Lira
    Currency{"TTD", 2, "", false},        // Trinidad and Tobago Dollar
    Currency{"TWD", 2, "", false},        // New Taiwan Dollar
    Currency{"TZS", 2, "", false},        // Tanzanian Shilling
    Currency{"UAH", 2, "", false},        // Hryvnia
    Currency{"UGX", 0, "", false},        // Uganda Shilling
    Currency{"USD", 2, "$", false},       // US Dollar
    Currency{"USN", 2, "", false},        // US Dollar (Next day)
    Currency{"UYI", 0, "", false},        // Uruguay Peso en Unidades Indexadas (UI)
    Currency{"UYU", 2, "", false},        // Peso Uruguayo
    Currency{"UYW", 4, "", false},        // Unidad Previsional
    Currency{"UZS", 2, "", false},        // Uzbekistan Sum
    Currency{"VED", 2, "", false},        // Bolívar Soberano
    Currency{"VES", 2, "", false},        // Bolívar Soberano
    Currency{"VND", 0, "", false},        // Dong
    Currency{"VUV", 0, "", false},        // Vatu
    Currency{"WST", 2, "", false},        // Tala
    Currency{"XAF", 0, "", false},        // CFA Franc BEAC
    Currency{"XAG", -1, "", false},       // Silver
    Currency{"XAU", -1, "", false},       // Gold
    Currency{"XBA", -1, "", false},       // Bond Markets Unit European Composite Unit (EURCO)
    Currency{"XBB", -1, "", false},       // Bond Markets Unit European Monetary Unit (E.M.U.-6)
    Currency{"XBC", -1, "", false},       // Bond Markets Unit European Unit of Account 9 (E.U.A.-9)
    Currency{"XBD", -1, "", false},  // Bond Markets Unit European Unit of Account 17 (E.U.A.-17)
    Currency{"XCD", 2, "", false},   // East Caribbean Dollar
    Currency{"XCG", 2, "", false},   // Caribbean Guilder
    Currency{"XDR", -1, "", false},  // SDR (Special Drawing Right)
    Currency{"XOF", 0, "", false},   // CFA Franc BCEAO
    Currency{"XPD", -1, "", false},  // Palladium
    Currency{"XPF", 0, "", false},   // CFP Franc
    Currency{"XPT", -1, "", false},  // Platinum
    Currency{"XSU", -1, "", false},  // Sucre
    Currency{"XTS", -1, "", false},  // Codes specifically reserved for testing purposes
    Currency{"XUA", -1, "", false},  // ADB Unit of Account
    Currency{"XXX", -1, "",
             false},  // The codes assigned for transactions where no currency is involved
    Currency{"YER", 2, "", false},  // Yemeni Rial
    Currency{"ZAR", 2, "", false},  // Rand
    Currency{"ZMW", 2, "", false},  // Zambian Kwacha
    Currency{"ZWG", 2, "", false},  // Zimbabwe Gold
    Currency{"ZWL", 2, "", true},   // Zimbabwe Dollar
};

char upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

}  // namespace

std::span<const Currency> iso4217_currencies() {
  return kCurrencies;
}

std::optional<Currency> find_currency(std::string_view code) {
  if (code.size() != 3) return std::nullopt;
  const char key[3] = {upper(code[0]), upper(code[1]), upper(code[2])};
  const std::string_view k(key, 3);
  const auto it =
      std::lower_bound(kCurrencies.begin(), kCurrencies.end(), k,
                       [](const Currency& c, std::string_view v) { return c.code < v; });
  if (it == kCurrencies.end() || it->code != k) return std::nullopt;
  return *it;
}

bool is_known_currency(std::string_view code) {
  const auto c = find_currency(code);
  return c && c->exponent >= 0;
}

int minor_digits(std::string_view code) {
  const auto c = find_currency(code);
  return c && c->exponent >= 0 ? c->exponent : kAssumedExponent;
}

}  // namespace cs::domain
