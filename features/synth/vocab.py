"""Fixed vocabularies of the synthetic market: firmographics, names, titles, pages and activity mixes.

Everything here is data, not behaviour; the weights are in the order of the
vocabulary they weigh.
"""

from __future__ import annotations

import numpy as np

from ..contract import ACTIVITY_TYPES, DEPARTMENTS, SENIORITIES

INDUSTRIES: tuple[str, ...] = (
    "Software", "Financial Services", "Healthcare", "Logistics", "Manufacturing", "Retail",
    "Telecommunications", "Education", "Media", "Energy", "Professional Services", "Public Sector",
)
ICP_INDUSTRIES: tuple[str, ...] = ("Software", "Financial Services", "Healthcare", "Logistics")
ICP_EMPLOYEES: tuple[int, int] = (200, 5000)
TECHNOLOGIES: tuple[str, ...] = (
    "Salesforce", "HubSpot", "Snowflake", "AWS", "Azure", "Google Cloud", "Kubernetes", "dbt",
    "Tableau", "Power BI", "SAP", "Oracle", "Workday", "Zendesk", "Shopify", "Marketo", "Slack",
    "Jira", "Looker", "MongoDB",
)
ICP_TECHNOLOGIES: tuple[str, ...] = ("Snowflake", "dbt", "AWS", "Kubernetes", "Salesforce")
RELEVANT_TOPICS: tuple[str, ...] = (
    "Data Integration", "ETL", "Data Warehousing", "Reverse ETL", "Data Pipelines", "Customer Data Platform",
)
UNRELATED_TOPICS: tuple[str, ...] = (
    "Payroll Software", "Office Furniture", "Employee Benefits", "Fleet Management", "Video Conferencing",
    "Tax Compliance", "Recruiting Software", "Travel Management", "Cybersecurity Training", "Cloud Backup",
    "Point of Sale", "Facilities Management",
)
FREE_MAIL_DOMAINS: tuple[str, ...] = ("gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com", "proton.me")
VENDOR_SITE = "https://www.acme-vendor.com"

# Types outside the contract's vocabulary, which a reader must keep as "other".
UNKNOWN_ACTIVITY_TYPES: tuple[str, ...] = ("chat_message", "video_view")

TYPE_CODE = {name: i for i, name in enumerate(ACTIVITY_TYPES + UNKNOWN_ACTIVITY_TYPES)}


INDUSTRY_P = np.array([14, 10, 9, 7, 11, 9, 6, 6, 6, 5, 10, 7], dtype=float)
# Revenue per employee relative to the median company, by industry.
INDUSTRY_REVENUE = np.array([1.3, 1.8, 0.9, 0.8, 1.0, 0.7, 1.4, 0.5, 0.9, 1.6, 1.0, 0.6])
COUNTRIES = (
    "United States", "United Kingdom", "Germany", "France", "Canada", "Netherlands", "Australia", "India",
    "Brazil", "Sweden", "Spain", "Japan",
)
PARTNER_INDUSTRIES = ("Software", "Media", "Professional Services")
COUNTRY_P = np.array([45, 10, 8, 6, 6, 4, 4, 5, 3, 3, 3, 3], dtype=float)
# Base share of accounts running each of TECHNOLOGIES.
TECH_P = np.array([0.35, 0.25, 0.15, 0.40, 0.25, 0.15, 0.15, 0.08, 0.20, 0.25, 0.12, 0.12, 0.12, 0.18, 0.08,
                    0.10, 0.45, 0.35, 0.08, 0.10])
SYLLABLES = (
    "ac", "al", "am", "an", "ar", "as", "ba", "bel", "bri", "ca", "cor", "da", "del", "dor", "el", "en", "fa", "fin",
    "ga", "gen", "ha", "in", "ka", "kel", "la", "lin", "lu", "ma", "mer", "mi", "na", "nor", "no", "or", "pa", "pol",
    "qua", "ra", "ren", "ri", "sa", "sel", "sol", "ta", "ter", "tri", "ul", "va", "vel", "vi", "wa", "wen", "xa",
    "ya", "zan", "zo", "ly", "ex", "on", "um",
)
NAME_SUFFIXES = ("", "", "", "Systems", "Labs", "Group", "Technologies", "Partners", "Holdings", "Solutions", "Inc")
TLDS = (".com", ".com", ".com", ".com", ".com", ".io", ".co", ".net", ".ai")
FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William",
    "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen", "Daniel", "Lisa",
    "Matthew", "Nancy", "Anthony", "Sandra", "Mark", "Ashley", "Steven", "Emily", "Paul", "Michelle", "Andrew",
    "Amanda", "Joshua", "Melissa", "Kevin", "Stephanie", "Brian", "Rebecca", "George", "Laura", "Priya", "Wei",
    "Hiroshi", "Fatima", "Lars", "Ingrid", "Luca", "Sofia", "Mateo", "Camila", "Arjun", "Ananya", "Omar", "Leila",
    "Pierre", "Claire", "Jonas", "Anna", "Diego", "Lucia", "Kenji", "Yuki", "Noah", "Emma", "Liam", "Olivia",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Thompson",
    "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green",
    "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Patel", "Singh", "Kim", "Chen", "Wang",
    "Nguyen", "Mueller", "Schmidt", "Schneider", "Fischer", "Dubois", "Moreau", "Rossi", "Bianchi", "Silva",
    "Santos", "Tanaka", "Suzuki", "Larsen", "Johansson", "Novak", "Kowalski", "Okafor", "Haddad", "Cohen", "Murphy",
)
SUBDOMAINS = ("eu", "us", "uk", "de", "emea", "apac")

# Free-text titles for each (seniority, department): mostly what a reader's
# keyword rules recognise, with the odd title they do not.
DEPT_LABEL = {
    "it": "IT", "engineering": "Engineering", "finance": "Finance", "procurement": "Procurement",
    "marketing": "Marketing", "sales": "Sales", "operations": "Operations", "hr": "Human Resources",
}
C_LEVEL_TITLES = {
    "it": ("CIO", "Chief Information Officer", "CISO"), "engineering": ("CTO", "Chief Technology Officer"),
    "finance": ("CFO", "Chief Financial Officer"), "procurement": ("Chief Procurement Officer",),
    "marketing": ("CMO", "Chief Marketing Officer"), "sales": ("CRO", "Chief Revenue Officer"),
    "operations": ("COO", "Chief Operating Officer"), "executive": ("CEO", "Founder & CEO", "President"),
    "hr": ("Chief People Officer",),
}
INDIVIDUAL_TITLES = {
    "it": ("Systems Administrator", "IT Specialist", "Network Engineer"),
    "engineering": ("Software Engineer", "Senior Software Engineer", "Data Engineer", "DevOps Engineer"),
    "finance": ("Financial Analyst", "Accountant", "FP&A Analyst"),
    "procurement": ("Buyer", "Procurement Specialist", "Sourcing Analyst"),
    "marketing": ("Marketing Specialist", "Content Marketer", "Demand Generation Specialist"),
    "sales": ("Account Executive", "Sales Representative", "Business Development Representative"),
    "operations": ("Operations Analyst", "Supply Chain Analyst", "Operations Coordinator"),
    "executive": ("Executive Assistant",),
    "hr": ("Recruiter", "HR Generalist", "Talent Acquisition Specialist"),
}


def titles_for(seniority: str, department: str) -> tuple[str, ...]:
    """Job titles a person of this seniority and department might carry."""
    if seniority == "c_level":
        return C_LEVEL_TITLES[department]
    if seniority == "individual":
        return INDIVIDUAL_TITLES[department]
    if department == "executive":
        return {"vp": ("Executive Vice President",), "director": ("Managing Director",),
                "manager": ("General Manager", "Office Manager")}[seniority]
    label = DEPT_LABEL[department]
    if seniority == "vp":
        return (f"VP of {label}", f"Vice President, {label}", f"SVP {label}")
    if seniority == "director":
        return (f"Director of {label}", f"Head of {label}", f"{label} Director")
    return (f"{label} Manager", f"Senior {label} Manager", f"{label} Team Lead")


TITLE_TABLE = [(s, d, t) for s in range(len(SENIORITIES)) for d in range(len(DEPARTMENTS))
                for t in titles_for(SENIORITIES[s], DEPARTMENTS[d])]
TITLE_TEXT = np.array([t for _, _, t in TITLE_TABLE])
TITLE_GROUP = np.array([s * len(DEPARTMENTS) + d for s, d, _ in TITLE_TABLE])
TITLE_COUNT = np.bincount(TITLE_GROUP, minlength=len(SENIORITIES) * len(DEPARTMENTS))
TITLE_OFFSET = np.concatenate([[0], np.cumsum(TITLE_COUNT)[:-1]])

# Pages of the vendor's site, and which ones each activity type lands on.
PAGES = {
    "general": ("/", "/product", "/product/integrations", "/product/security", "/customers", "/about",
                "/blog/data-pipelines-at-scale", "/blog/reverse-etl-explained", "/blog/warehouse-cost-control",
                "/docs/getting-started", "/docs/connectors", "/solutions/financial-services"),
    "pricing": ("/pricing", "/pricing/", "/pricing/enterprise", "/pricing?plan=team"),
    "careers": ("/careers", "/careers/senior-data-engineer", "/careers/account-executive", "/careers/apply"),
    "resources": ("/resources/buyers-guide.pdf", "/resources/roi-calculator.xlsx", "/resources/analyst-report.pdf",
                  "/resources/security-whitepaper.pdf"),
    "webinars": ("/webinars/modern-data-stack", "/webinars/customer-roundtable", "/webinars/cost-of-bad-data"),
    "ads": ("/lp/data-integration?utm_source=linkedin", "/lp/free-trial?utm_source=google"),
    "contact": ("/contact", "/resources/buyers-guide.pdf"),
    "demo": ("/demo",),
    "trial": ("/trial",),
    "app": ("https://app.acme-vendor.com/dashboard", "https://app.acme-vendor.com/pipelines",
            "https://app.acme-vendor.com/settings/billing"),
}

# The vendor's product lines (what buying groups evaluate, one each), named
# as the intent provider names the topics, and the pages of each: every page
# of a line lies under its own path prefix, so that a url tells its line.
PRODUCT_LINES: tuple[str, ...] = ("Data Pipelines", "Reverse ETL", "Data Warehousing")
_LINE_SLUGS = ("data-pipelines", "reverse-etl", "data-warehousing")
# URL path prefix -> topic: what a reader's configuration maps to topics.
PRODUCT_LINE_PREFIXES: dict[str, str] = {f"/solutions/{slug}": line for slug, line in zip(_LINE_SLUGS, PRODUCT_LINES)}
# A line's pages by the page group of the same name in PAGES, with "{p}" for its prefix.
LINE_PAGES = {
    "general": ("{p}", "{p}/how-it-works", "{p}/customers", "{p}/integrations"),
    "pricing": ("{p}/pricing",),
    "resources": ("{p}/buyers-guide.pdf", "{p}/roi-calculator.xlsx", "{p}/whitepaper.pdf"),
    "webinars": ("{p}/webinar", "{p}/webinar/live-demo"),
    "ads": ("{p}?utm_source=linkedin", "{p}?utm_source=google"),
    "contact": ("{p}/contact", "{p}/buyers-guide.pdf"),
    "demo": ("{p}/demo",),
    "trial": ("{p}/trial",),
}
# Every page, the site's first and the lines' after them (so the site's keep
# their positions); the app's pages are full urls already.
_ALL_PAGES = [*PAGES.items()] + [((line, group), tuple(page.format(p=prefix) for page in pages))
                                  for prefix, line in PRODUCT_LINE_PREFIXES.items() for group, pages in LINE_PAGES.items()]
URLS = np.array([p if p.startswith("http") else VENDOR_SITE + p for _, group in _ALL_PAGES for p in group],
                dtype=object)
# Positions in URLS of each page group's pages: PAGE_GROUP[group] for the
# site's, PAGE_GROUP[(line, group)] for a product line's.
_GROUP_END = np.cumsum([len(group) for _, group in _ALL_PAGES])
PAGE_GROUP = {name: np.arange(end - len(group), end) for (name, group), end in zip(_ALL_PAGES, _GROUP_END)}
# (page group, share of rows with a url) per activity type; None: never a url.
TYPE_PAGES = {
    "web_visit": ("general", 1.0), "pricing_page_visit": ("pricing", 0.8), "content_download": ("resources", 0.95),
    "webinar_registered": ("webinars", 0.9), "webinar_attended": ("webinars", 0.9), "email_open": None,
    "email_click": ("general", 0.9), "ad_click": ("ads", 1.0), "form_fill": ("contact", 0.9),
    "demo_request": ("demo", 0.9), "event_attended": None, "trial_signup": ("trial", 0.9),
    "product_usage": ("app", 1.0), "chat_message": ("general", 0.5), "video_view": ("general", 0.5),
}
# Page groups an event can be forced onto, whatever its type's default.
FORCED_PAGES = ("pricing", "careers")

# Relative weights of activity types early (p = 0) and late (p = 1) in a
# buying cycle, and for the other kinds of engagement. Order of ACTIVITY_TYPES.
W_CYCLE_EARLY = np.array([30, 1.0, 15, 6, 5, 14, 8, 10, 3, 0.3, 2, 0.5, 0])
W_CYCLE_LATE = np.array([22, 14, 7, 3, 3, 7, 6, 3, 8, 8, 3, 5, 0])
# A committee heading for "no decision" or a competitor still compares
# prices, but rarely asks this vendor for a demo or a trial.
W_CYCLE_LATE_LOST = np.array([24, 14, 9, 3, 3, 7, 6, 3, 6, 1.5, 3, 1.5, 0])
W_SENIOR_EARLY = np.array([20, 4, 6, 3, 5, 10, 5, 2, 2, 2, 6, 0.5, 0])
W_SENIOR_LATE = np.array([15, 16, 3, 1, 3, 6, 4, 1, 4, 10, 6, 1, 0])
W_CURIOUS = np.array([35, 10, 18, 6, 6, 4, 8, 6, 4, 1.5, 1, 5, 0])
W_BACKGROUND = np.array([50, 1.5, 14, 5, 4, 0, 5, 15, 2, 0.2, 3, 0.3, 0])
W_PARTNER = np.array([35, 16, 20, 8, 8, 0, 5, 2, 2, 0.3, 3, 6, 0])
W_EXPANSION = np.array([10, 12, 6, 4, 6, 6, 6, 1, 8, 6, 2, 0, 0])


# Who tends to sit on a buying committee for a data platform.
COMMITTEE_DEPTS = [20, 26, 10, 9, 10, 4, 14, 2, 1]
ANY_DEPTS = [12, 16, 9, 5, 15, 15, 12, 4, 12]


EXEC_ROLES = ("Chief Financial Officer", "Chief Information Officer", "Chief Technology Officer",
               "VP of Engineering", "VP of Data", "Chief Data Officer", "VP of IT", "Chief Operating Officer")
ROUNDS = ("Seed", "Series A", "Series B", "Series C", "Series D", "Growth equity")


# Account owners (sales reps): the report digest can be filtered by them.
OWNERS = ("Dana Whitfield", "Marcus Oyelaran", "Priya Natarajan", "Tomasz Kowal", "Elena Ruiz", "Sam Okafor")


OPEN_STAGES = np.array(["qualification", "discovery", "proposal", "negotiation"])
