"""direction_swap and role_swap traps.
Lines are 'template | X | Y'. A template with {0} and {1} is a positional swap
(A fills (X, Y), B fills (Y, X)); a template with {} is a single-slot swap of
a directional word (before/after, import/export, into/out of)."""
import random
from common import parse_lines, substitution_traps, explicit_pairs

DIRECTION = r"""
How many deploys were promoted from {0} to {1} last week? | staging | production
What's the process to migrate our data from {0} to {1}? | MySQL | Postgres
Convert 500 {0} to {1} at today's rate | USD | EUR
Cheapest flights from {0} to {1} in May | Paris | Rome
How long does shipping from {0} to {1} take? | Shanghai | Rotterdam
How much did we transfer from {0} to {1} last month? | checking | savings
What's the exchange rate from {0} to {1}? | GBP | JPY
How many employees relocated from {0} to {1} this year? | London | Berlin
Show me the train times from {0} to {1} tomorrow morning | Boston | New York
How do I move files from {0} to {1}? | OneDrive | Google Drive
How many customers switched from {0} to {1} last quarter? | the basic plan | the premium plan
How many calls were transferred from {0} to {1}? | billing | tech support
What's the driving distance from {0} to {1}? | Denver | Salt Lake City
How do I port my number from {0} to {1}? | Vodafone | O2
How many trucks went from {0} to {1} yesterday? | the Dallas depot | the Houston depot
How many students transferred from {0} to {1}? | engineering | business
What's the lead time from {0} to {1} for steel coils? | the mill | our plant
Show power flows from {0} to {1} last night | France | Spain
How many users migrated from {0} to {1}? | Android | iOS
What did it cost to ship pallets from {0} to {1}? | Poland | Germany
How many patients were transferred from {0} to {1} this week? | the ER | the ICU
How many leads moved from {0} to {1} this month? | MQL | SQL
How many tickets got escalated from {0} to {1}? | tier 1 | tier 2
How do I convert a file from {0} to {1}? | PDF | Word
How long is the ferry from {0} to {1}? | Dover | Calais
How many passengers flew from {0} to {1} in July? | Madrid | Lisbon
How many containers moved from {0} to {1} in Q2? | Singapore | Los Angeles
What's the fastest route from {0} to {1}? | the airport | downtown
How do I switch my account from {0} to {1}? | personal | business
How much budget did we reallocate from {0} to {1}? | TV | digital
How many units were shifted from {0} to {1}? | the north warehouse | the south warehouse
How many players moved from {0} to {1} after the patch? | the EU servers | the NA servers
What's the water flow from {0} to {1}? | the reservoir | the treatment plant
How many cattle were moved from {0} to {1}? | the east pasture | the feedlot
How many listings moved from {0} to {1} this week? | pending | sold
How many contracts moved from {0} to {1} status? | draft | signed
How do I downgrade from {0} to {1}? | Windows 11 | Windows 10
Show transfers {} savings this month | into | out of
How much money went {} the pension fund last year? | into | out of
How many bugs were found {} the release? | before | after
What was the conversion rate {} the redesign? | before | after
Show sales figures {} the price change | before | after
How many complaints did we get {} the outage? | before | after
How do I {} contacts in Outlook? | import | export
How many tons of coffee did Brazil {} last year? | import | export
How do I {} customer records as a CSV in our CRM? | import | export
How much electricity does Germany {} from France? | import | export
What's the tax on goods {} the EU? | entering | leaving
How many visitors {} the park at the north gate? | entered | exited
How many people moved {} the city last year? | into | out of
Show me {} transfers for the week | incoming | outgoing
How many {} emails did support have today? | incoming | outgoing
How many players were traded {} the team this season? | to | away from
What's the traffic like {} the city this evening? | into | out of
How many patients were referred {} our clinic? | to | from
How many shipments are {} the port this week? | bound for | leaving
How many hours of video were uploaded {} the archive? | to | from
How long is the wait {} security at JFK? | before | after
How many interns were hired {} graduation? | before | after
Did the error rate drop {} the deploy? | before | after
How many doses were given {} the campaign started? | before | after
How do I copy settings {} the old router? | from | to
How many people took the bus from {0} to {1} this morning? | Brixton | Victoria
What's the cost to wire money from {0} to {1}? | Mexico | the US
How long does a transfer from {0} to {1} take? | ISA | current account
How many vehicles crossed from {0} to {1} at the border? | Canada | the US
What's the toll from {0} to {1}? | Newark | Manhattan
How many tickets moved from {0} to {1} this sprint? | in progress | done
How many invoices moved from {0} to {1} status? | approved | paid
How many patients were moved from {0} to {1} today? | ICU | general ward
How many loads went from {0} to {1} by rail? | Chicago | Kansas City
How do I transfer a domain from {0} to {1}? | GoDaddy | Cloudflare
How many players switched from {0} to {1}? | PC | console
How many shipments went from {0} to {1} by air? | Frankfurt | Dubai
How much gas flowed from {0} to {1} last winter? | Norway | the UK
How do I cast from my {0} to my {1}? | phone | TV
How many licences moved from {0} to {1}? | the sales team | the support team
What's the exchange rate from {0} to {1}? | Swiss francs | euros
How many passengers connected from {0} to {1}? | domestic flights | international flights
How do I change my plan from {0} to {1} billing? | monthly | annual
How many customers converted from {0} to {1}? | trial | paid
How do I transfer points from {0} to {1}? | Avios | Marriott Bonvoy
How far is it from {0} to {1} by train? | Milan | Zurich
How much stock did we move from {0} to {1}? | online | retail stores
How many cases were reassigned from {0} to {1}? | Judge Brown | Judge Allen
How many staff moved from {0} to {1} contracts? | temporary | permanent
How do I roll back from {0} to {1}? | version 3.2 | version 3.1
How many goods were shipped {} the free-trade zone? | into | out of
How much cash did the fund move {} bonds? | into | out of
How many leads came in {} the webinar? | before | after
What was the stock price {} the earnings call? | before | after
How many users signed up {} the price increase? | before | after
How many cows calved {} the storm? | before | after
How many staff quit {} the merger? | before | after
Show revenue {} the new pricing went live | before | after
How many items were scanned {} the cut-off? | before | after
How do I {} bookmarks in Chrome? | import | export
How much wheat does Egypt {}? | import | export
How do I {} a Figma file? | import | export
"""

DIRECTION_EXPLICIT = r"""
How do I sync my calendar from Google to Outlook? || How do I sync my calendar from Outlook to Google?
Convert 100 euros into dollars || Convert 100 dollars into euros
How many Canadian dollars do I get for 200 US dollars? || How many US dollars do I get for 200 Canadian dollars?
Which files did we copy from the NAS onto S3? || Which files did we copy from S3 onto the NAS?
How much freight went out of Hamburg into Prague? || How much freight went out of Prague into Hamburg?
How many people commute from Oakland into San Francisco? || How many people commute from San Francisco into Oakland?
What's the roaming charge when calling the UK from Spain? || What's the roaming charge when calling Spain from the UK?
how to move a sharepoint site to teams || how to move a teams site to sharepoint
Did revenue rise or fall after we moved from monthly to annual billing? || Did revenue rise or fall after we moved from annual to monthly billing?
How many users downgraded from Pro to Free? || How many users upgraded from Free to Pro?
How do I move money from my ISA into my current account? || How do I move money from my current account into my ISA?
How long is the drive from the port to the plant? || How long is the drive from the plant to the port?
How many calls did we route from Dublin to Manila? || How many calls did we route from Manila to Dublin?
How many trucks are heading to the DC? || How many trucks are heading away from the DC?
How do I copy a table from Excel into Word? || How do I copy a table from Word into Excel?
How many leads did we hand off to partners? || How many leads did partners hand off to us?
Which employees moved up from analyst to manager? || Which employees moved down from manager to analyst?
How do I convert kilometres to miles? || How do I convert miles to kilometres?
What's 30 degrees Celsius in Fahrenheit? || What's 30 degrees Fahrenheit in Celsius?
How many users came to us from Competitor X? || How many users left us for Competitor X?
How do I copy photos to my iCloud? || How do I copy photos from my iCloud?
How many passengers transferred onto the Rome flight? || How many passengers transferred off the Rome flight?
How many students moved into the district this year? || How many students moved out of the district this year?
What's the deadline to move funds into the escrow account? || What's the deadline to move funds out of the escrow account?
"""

ROLE = r"""
What does the {0} pay the {1} per unit? | reseller | vendor
Which {0} report to {1}? | managers | directors
How many emails were sent by {0} to {1} last week? | sales | support
How much did the {0} lend the {1} in 2023? | parent company | subsidiary
How many tickets did {0} hand over to {1}? | the night shift | the day shift
How much does the {0} owe the {1}? | landlord | tenant
How many invoices did {0} send to {1}? | our UK entity | our US entity
Which {0} refer the most patients to {1}? | GPs | specialists
How much did {0} charge {1} for the pilot? | our firm | the client
How many leads did {0} pass to {1} this month? | marketing | sales
What commission does the {0} pay the {1}? | broker | agent
How many players did {0} trade to {1}? | the Lakers | the Celtics
Which {0} are mentored by {1}? | juniors | seniors
How much did {0} invoice {1} in Q3? | Acme | Globex
How many complaints did {0} file against {1}? | tenants | the landlord
Who approves expenses for {0} submitted by {1}? | managers | interns
How much royalty does the {0} pay the {1}? | publisher | author
How many shipments did {0} receive from {1}? | the distributor | the manufacturer
What fee does the {0} charge the {1}? | platform | seller
How many messages did {0} send {1} in the chat? | the customer | the agent
How much did {0} pay {1} in settlement? | the insurer | the claimant
Which {0} supervise {1} on night shifts? | nurses | doctors
How many transfers did {0} make to {1}? | the clinic | the hospital
How much power did {0} sell to {1}? | the utility | the solar farm
How many referrals did {0} send {1}? | our partners | our team
Which {0} are subcontracting work to {1}? | suppliers | competitors
How much did {0} reimburse {1} for travel? | the company | the consultant
How many votes did {0} cast for {1}? | members | the board
How much does the {0} pay the {1} per month? | franchisee | franchisor
How many bugs did {0} assign to {1}? | QA | the dev team
How often does the {0} audit the {1}? | regulator | bank
Which {0} did {1} flag for review? | vendors | auditors
How much data does the {0} share with the {1}? | app | advertiser
What did {0} promise {1} in the contract? | the buyer | the seller
How many calls did {0} escalate to {1}? | agents | supervisors
Which {0} follow {1} on our platform? | brands | creators
How many cases did {0} refer to {1}? | the police | social services
How much interest does the {0} pay the {1}? | borrower | lender
How much did {0} pay {1} for the merger advice? | Pfizer | Goldman
How many patients did {0} see after {1}? | nurses | doctors
Which products do {0} resell to {1}? | distributors | retailers
How many orders did {0} cancel on {1}? | customers | suppliers
How many warnings did {0} issue to {1}? | HR | managers
What does the {0} charge the {1} for storage? | 3PL | merchant
How many items did {0} return to {1}? | stores | the warehouse
How much did {0} spend with {1} this year? | our team | the agency
Which {0} outrank {1} in the guild? | officers | veterans
How much water did {0} buy from {1}? | the farm | the co-op
How many licences did {0} sublicense to {1}? | the studio | the distributor
How many invoices did {0} raise against {1}? | the contractor | the client
What does the {0} charge the {1} per hour? | agency | freelancer
Which {0} manage {1}? | leads | engineers
How much did {0} pay {1} in dividends? | the holding company | the shareholders
How many messages did {0} send to {1} this week? | the school | parents
How much did the {0} refund the {1}? | airline | travel agent
Which {0} buy from {1}? | hospitals | pharmacies
How many patients did {0} refer to {1}? | the clinic | the hospital
How much did {0} pay {1} for the land? | the city | the developer
How many players did {0} loan to {1}? | Chelsea | Brighton
How much does the {0} pay the {1} in rent? | café | shopping centre
How many warnings did {0} give {1}? | the teachers | the students
Which {0} are coached by {1}? | managers | executives
How much did {0} transfer to {1} last quarter? | the US entity | the Irish entity
How many leads did {0} send to {1}? | the partner | our sales team
How much commission do {0} pay {1}? | sellers | marketplaces
How many reports did {0} submit to {1}? | the bank | the regulator
How much do {0} owe {1} after the audit? | our suppliers | our subsidiaries
How much electricity did {0} buy from {1}? | the factory | the grid
How many orders did {0} place with {1}? | the restaurant | the wholesaler
How much did {0} invoice {1} for consulting? | Deloitte | the ministry
Which {0} are supervised by {1}? | interns | associates
How many tickets did {0} reassign to {1}? | support | engineering
How much do {0} pay {1} per ride? | riders | drivers
How many grants did {0} award to {1}? | the foundation | the university
How many emails did {0} forward to {1}? | legal | compliance
What fee do {0} pay {1}? | merchants | card networks
How much did {0} bill {1} for repairs? | the landlord | the tenant
How many transfers did {0} receive from {1}? | savings | checking
How many complaints did {0} escalate to {1}? | the ombudsman | the bank
How much traffic do we send to {0} from {1}? | the blog | the app
How many interviews did {0} run with {1}? | recruiters | hiring managers
How much did {0} sell to {1} last year? | Walmart | Target
Which {0} approved purchases by {1}? | directors | VPs
"""

ROLE_EXPLICIT = r"""
Which customers were contacted by our reps last month? || Which of our reps were contacted by customers last month?
Who did the reseller invoice in March? || Who invoiced the reseller in March?
Which vendors did the auditors flag? || Which auditors flagged the vendors?
How many drivers were rated by passengers last week? || How many passengers were rated by drivers last week?
Which employees did the managers nominate for awards? || Which managers did the employees nominate for awards?
How much did the subsidiary receive from the parent? || How much did the parent receive from the subsidiary?
Which players were blocked by moderators? || Which moderators were blocked by players?
Which suppliers were paid late by us? || Which suppliers paid us late?
How many customers did our support team call back? || How many customers called our support team back?
How many students did the tutor grade? || How many tutors did the students grade?
Who did Acme sue in 2022? || Who sued Acme in 2022?
Which banks did the regulator fine? || Which regulators fined the bank?
How many hotels did the guests review? || How many guests did the hotels review?
Which firms acquired our competitors? || Which firms did our competitors acquire?
How many doctors referred patients to physiotherapy? || How many physiotherapists referred patients to doctors?
How much do we owe our suppliers? || How much do our suppliers owe us?
Which teams borrowed engineers from platform? || Which teams lent engineers to platform?
Which tenants are the landlords suing? || Which landlords are the tenants suing?
How many accounts does our brand follow? || How many accounts follow our brand?
Which employees did HR call in for meetings? || Which HR staff did employees call in for meetings?
How many tenants did the landlord take to court? || How many landlords did the tenants take to court?
Which reps were coached by the VP? || Which VPs did the reps coach?
How many candidates interviewed the hiring manager? || How many candidates did the hiring manager interview?
Which bloggers did we pay to mention us? || Which bloggers paid us to mention them?
Which customers did we refund twice? || Which customers refunded us twice?
How many patients did the nurses transfer to doctors? || How many patients did the doctors transfer to nurses?
Who does Maria report to? || Who reports to Maria?
Which teams depend on the data team? || Which teams does the data team depend on?
Which countries does Germany export cars to? || Which countries export cars to Germany?
Which products does Acme buy from us? || Which products do we buy from Acme?
How much did we pay the agency for the campaign? || How much did the agency pay us for the campaign?
Which students tutor the freshmen? || Which freshmen tutor the students?
Who did the auditor interview last week? || Who interviewed the auditor last week?
Which employees did the interns shadow? || Which interns shadowed the employees?
How many customers did the agents hang up on? || How many agents did the customers hang up on?
Which publishers license content from us? || Which publishers do we license content from?
Which players did our team beat this season? || Which players beat our team this season?
How much do we owe the bank? || How much does the bank owe us?
Who follows our CEO on LinkedIn? || Who does our CEO follow on LinkedIn?
"""


def generate(rng):
    out = []
    out += substitution_traps(parse_lines(DIRECTION), "direction_swap", rng, per_entry=3,
                              reword_cat="direction_swap_reworded", reword_rate=0.5)
    out += explicit_pairs(DIRECTION_EXPLICIT, False, "direction_swap", rng, per_entry=3)
    out += substitution_traps(parse_lines(ROLE), "role_swap", rng, per_entry=3,
                              reword_cat="role_swap_reworded", reword_rate=0.5)
    out += explicit_pairs(ROLE_EXPLICIT, False, "role_swap", rng, per_entry=3)
    return out


if __name__ == "__main__":
    ps = generate(random.Random(1))
    import collections
    print(collections.Counter(p["category"] for p in ps))
