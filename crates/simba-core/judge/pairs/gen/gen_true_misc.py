"""Same-answer (true) pairs other than paraphrase families:
synonym_abbrev, role_title_vs_verb, fixed_phrase, number_two_ways,
reorder_politeness and near_repeat."""
import random
import re
from common import parse_lines, substitution_trues, explicit_pairs, pair, style, cap, CONTEXTS
from gen_paraphrase import bases

SYNONYM = r"""
Send me the {} for the Boise branch | P&L | profit and loss statement
What's the {} of the Denver office? | headcount | number of employees
What was the {} in the premium tier last quarter? | churn rate | cancellation rate
What's the {} for the Hamburg shipment? | ETA | expected arrival time
How many {} did we have last month? | SLA breaches | service level agreement breaches
What's our {} this year? | YoY growth | year-over-year growth
Show me {} for the app | DAU | daily active users
What's the {} of the new feature? | ROI | return on investment
How many {} did the marketing team generate? | MQLs | marketing qualified leads
What's our current {}? | ARR | annual recurring revenue
How many {} are open right now? | POs | purchase orders
What's the average {} for support tickets? | TTR | time to resolution
List all {} for the Acme deal | SOWs | statements of work
What's the {} of the checkout service? | p99 latency | 99th percentile latency
How many {} did we file last year? | RFPs | requests for proposal
What's the {} on our ads this month? | CPC | cost per click
How many {} are waiting in the queue? | PRs | pull requests
Show {} by store for June | COGS | cost of goods sold
What's the {} for this quarter? | OKR progress | progress on objectives and key results
How many {} are in the ICU right now? | pts | patients
What's the average {} on the medical ward? | LOS | length of stay
How many {} did we run this sprint? | A/B tests | split tests
What's our {} for enterprise accounts? | NRR | net revenue retention
How many {} were processed in March? | KYC checks | know-your-customer checks
What's our {} ratio? | debt-to-equity | D/E
How much is the {} on my loan? | APR | annual percentage rate
What's the {} of the new hires? | TTP | time to productivity
What's the {} at the Lisbon hotel? | ADR | average daily rate
How many {} were issued last week? | RMAs | return merchandise authorizations
What was {} in April? | MRR | monthly recurring revenue
How many {} did the plant have this year? | lost-time injuries | LTIs
Which {} are behind schedule? | WOs | work orders
How many {} did we onboard this month? | new hires | new employees
What's the turnaround time for {} requests? | PTO | paid time off
How many {} did we sell in Q2? | TVs | televisions
What's the {} for this campaign? | CAC | customer acquisition cost
Show the {} of our top accounts | LTV | lifetime value
How many {} did support handle today? | tix | tickets
Show me the {} numbers | YTD | year-to-date
What's the {} of the website? | bounce rate | share of single-page sessions
When is the next {}? | AGM | annual general meeting
How many {} were written in Texas? | auto policies | car insurance policies
Which {} have the longest delays? | carriers | shipping companies
How many {} enrolled this fall? | freshmen | first-year students
How many {} are in stock? | laptops | notebook computers
What's the {} of line 4? | OEE | overall equipment effectiveness
What was our {} last year? | EBITDA | earnings before interest, taxes, depreciation and amortization
How many {} are on the payroll? | FTEs | full-time equivalents
What's the {} on the Oak Street house? | asking price | list price
What's the {} in the new lease? | break clause | early termination clause
How many {} did we have this year? | data breaches | security breaches involving data
Which {} are due this week? | AP invoices | accounts payable invoices
How much {} do we hold? | AR | accounts receivable
What's the {} for the Google campaign? | CTR | click-through rate
How many {} did the game sell? | copies | units
What was the {} last month? | MoM change | month-over-month change
How many {} are in the trial? | subjects | participants
What's the status of my {}? | ticket | support request
How many {} did the warehouse receive? | SKUs | stock keeping units
How many {} did we get this week? | customer complaints | complaints from customers
What's the {} for the spring release? | go-live date | launch date
Show the {} for the north region | sales figures | sales numbers
How many {} are scheduled for tomorrow? | surgeries | operations
What's the {} on this flight? | baggage allowance | luggage allowance
How many {} did we have in Q3? | layoffs | redundancies
What's the {} for the flat on King Street? | security deposit | damage deposit
Show me {} for the billing service | error logs | logs of errors
How many {} are on the night shift? | RNs | registered nurses
What's our {} on Trustpilot? | rating | star rating
How many {} did the fleet have last month? | breakdowns | vehicle breakdowns
How many {} signed up this month? | new customers | new clients
Who is the {} for the Acme account? | AM | account manager
What's the {} of the warehouse team? | attrition | staff turnover
How many {} did we approve? | PTO requests | time-off requests
Show me the {} for the hospital | org chart | organization chart
What's the {} of the new SUV? | MPG | miles per gallon
How many {} did the clinic see last week? | walk-ins | patients without appointments
What's the status of my {}? | refund | money back
How many {} does the district have? | public schools | state schools
How many {} did the plant ship? | finished goods | completed products
What's the {} of the Riverside project? | go-live | launch date
Show me {} for this month | OT hours | overtime hours
How many {} are in the library? | e-books | electronic books
What's the {} for tomorrow's flight? | gate number | departure gate
How many {} did the campaign get? | impressions | ad views
"""

ROLE_TITLE = r"""
the approver for travel requests || who approves travel requests
Who is the on-call engineer tonight? || Who's on call tonight?
Who's the owner of the billing dashboard? || Who owns the billing dashboard?
Who is the reviewer on PR 4411? || Who is reviewing PR 4411?
Who's the account manager for Globex? || Who manages the Globex account?
Who's the instructor for Biology 101? || Who teaches Biology 101?
Who is the landlord of 12 Elm Street? || Who owns and rents out 12 Elm Street?
Who is the assignee on ticket 5521? || Who is ticket 5521 assigned to?
Who's the maintainer of the auth library? || Who maintains the auth library?
Who is the sponsor of project Atlas? || Who is sponsoring project Atlas?
Who is the attending physician for room 12? || Which doctor is attending to room 12?
Who is the buyer for the shoes category? || Who buys for the shoes category?
Who is the adjuster on claim 7781? || Who is adjusting claim 7781?
Who is the organiser of Friday's offsite? || Who is organizing Friday's offsite?
Who's the dispatcher on the night shift? || Who dispatches trucks on the night shift?
Who is the editor of the travel section? || Who edits the travel section?
Who's the DRI for the outage postmortem? || Who is directly responsible for the outage postmortem?
Who is the point of contact for payroll questions? || Who should I contact with payroll questions?
Which team is the owner of the search service? || Which team owns the search service?
Who is the underwriter on the Smith policy? || Who underwrote the Smith policy?
Who is the coordinator for the vaccine clinic? || Who coordinates the vaccine clinic?
Who is the team lead for mobile? || Who leads the mobile team?
Who's the payroll administrator? || Who administers payroll?
Who is the case worker for the Jones family? || Who is working the Jones family's case?
Who is the trainer for the forklift course? || Who trains people on the forklift course?
Who's the moderator of the Friday panel? || Who is moderating the Friday panel?
Who is the property manager for Elm Court? || Who manages the Elm Court property?
Who is the recruiter for the sales roles? || Who is recruiting for the sales roles?
Who's the scheduler for the OR this week? || Who schedules the operating rooms this week?
Who is the author of the pricing memo? || Who wrote the pricing memo?
Who is the planner for the Hamburg route? || Who plans the Hamburg route?
Who's the main user of the old CRM? || Who uses the old CRM the most?
Who's the caretaker of the north barn? || Who looks after the north barn?
"""

FIXED = r"""
What's the quickest way to export a report? || How do I export a report?
What's the best way to share a dashboard with my team? || How can I share a dashboard with my team?
Off the top of my head I can't remember, how do I add a user to Slack? || How do I add a user to Slack?
First thing, how do I log into the VPN? || How do I log into the VPN?
What's the easiest way to reset my 2FA? || How do I reset my 2FA?
One of the managers asked: how many people work in finance? || How many people work in finance?
Number one question from my team: when is payday? || When is payday?
What's the fastest way to find an invoice by number? || How can I find an invoice by its number?
Best way to contact the helpdesk? || How do I contact the helpdesk?
Top tip needed: how do I merge two PDFs? || How do I merge two PDFs?
What's the simplest way to cancel an order? || How do I cancel an order?
In a word, what's our refund policy? || What is our refund policy?
The first thing my boss asked was how many orders we shipped today || How many orders did we ship today?
I have one question: what's the Wi-Fi password in the office? || What's the office Wi-Fi password?
What's the smartest way to change my shipping address? || How do I change my shipping address?
Top of the morning! When does the store open on Sunday? || When does the store open on Sunday?
What's the most straightforward way to book a meeting room? || How do I book a meeting room?
Two quick questions in one: where do I find payslips, and how do I download them? || Where do I find my payslips and how do I download them?
What's the best way to reach customer service? || How can I reach customer service?
Quickest route to the expense form? || Where is the expense form?
What's the best way to learn SQL as a beginner? || How should a beginner learn SQL?
Second question today, sorry: how do I rename a channel in Teams? || How do I rename a channel in Teams?
One more: how do I turn off read receipts? || How do I turn off read receipts?
What's the most reliable way to back up my laptop? || How should I back up my laptop reliably?
Hundred percent honest answer please: is the office closed on Monday? || Is the office closed on Monday?
What's the number one way to speed up my laptop? || How can I make my laptop faster?
At the end of the day I just need to know how to file a claim || How do I file a claim?
For the first time ever I need to submit a timesheet, how do I do it? || How do I submit a timesheet?
What's the least painful way to migrate my contacts to a new phone? || How do I move my contacts to a new phone?
Million dollar question: how do I undo a sent email in Gmail? || How do I undo sending an email in Gmail?
What's the best time of day to call the insurance hotline? || When is the best time to call the insurance hotline?
Quickest way to check my data balance? || How do I check my data balance?
Easiest way to pay my council tax? || How can I pay my council tax?
What's the fastest way to level up in the game? || How do I level up quickly in the game?
What's the best way to store potatoes? || How should I store potatoes?
First off, how do I open a ticket with IT? || How do I open a ticket with IT?
Just one thing: where do I park at the hospital? || Where do I park at the hospital?
Top priority for me: how do I reset my badge PIN? || How do I reset my badge PIN?
What is the single best way to cite a journal article in APA? || How do I cite a journal article in APA?
What's the best way to find my employee ID? || How do I find my employee ID?
First question of the day: how do I book annual leave? || How do I book annual leave?
What's the quickest way to get a copy of my bank statement? || How do I get a copy of my bank statement?
One of my colleagues is asking how to join the team channel || How do I join the team channel?
What is the best way to pay my phone bill? || How can I pay my phone bill?
Quickest way to check flight status? || How do I check my flight status?
What's the easiest way to report a pothole? || How do I report a pothole?
Best way to update my tax code? || How do I update my tax code?
What's the fastest way to get a replacement card? || How do I get a replacement card?
Top question from new hires: where is the staff handbook? || Where is the staff handbook?
What's the simplest way to transfer a game save to a new console? || How do I transfer a game save to a new console?
What's the best way to contact my child's teacher? || How can I contact my child's teacher?
First things first, how do I register the new tractor? || How do I register the new tractor?
Number one thing I need: where do I upload my timesheet? || Where do I upload my timesheet?
What's the quickest way to submit an article for review? || How do I submit an article for review?
"""

NUMBERS = r"""
How many tickets were opened in the last {}? | two weeks | 14 days
Show customers who spent more than {} | a quarter of a million | 250,000
How long is the break in the training session? Is it {}? | half an hour | 30 minutes
What was revenue in {} 2024? | Q1 | January to March
Show me hiring plans for {} | H2 | the second half of the year
Which products had a price increase of {}? | 5% | five percent
How many eggs come in {} boxes? | a dozen | 12
How many signups did we get in the {}? | last 7 days | past week
How many orders over {} did we get? | 1k | 1,000
Show deals larger than {} | 2M | 2 million dollars
What was the revenue in {}? | FY23 | fiscal year 2023
How many support calls lasted over {}? | an hour | 60 minutes
How many users churned in the {}? | past 30 days | last thirty days
What happened to sales in {}? | Q4 | October through December
How many employees have more than {} of tenure? | a decade | 10 years
Show flights departing in the next {} | 48 hours | two days
Which loans are more than {} overdue? | 90 days | three months
How many deliveries took over {}? | a day | 24 hours
What's the population of cities over {}? | a million | 1,000,000
How many hires did we make in {}? | H1 | the first half of the year
Show me transactions under {} | ten dollars | $10
How many claims were settled in under {}? | a fortnight | two weeks
Show me products with a margin above {} | 40 percent | 40%
How many students scored above {}? | ninety | 90
How many tickets were resolved in under {}? | 15 minutes | a quarter of an hour
Which stores had more than {} visitors yesterday? | 1.5k | 1,500
How much did we spend on ads in {}? | 2023 | twenty twenty-three
How many nurses worked double shifts in {}? | Jan | January
How many pallets are over {}? | half a tonne | 500 kilograms
Show invoices due in the next {} | fortnight | 14 days
How many patients waited over {}? | 4 hrs | four hours
What's the revenue for {}? | Q3 | July, August and September
List employees who joined in the {} | last six months | past half year
How much did we sell in {}? | Dec | December
How many loads over {} did we ship? | 20 tonnes | twenty tonnes
Show orders from the {} | last 24 hours | past day
How many players logged in over {} times? | a hundred | 100
Show the top {} customers by revenue | ten | 10
Show me users aged {} | 18-24 | eighteen to twenty-four
What's the average rent for a {} flat? | 2-bed | two-bedroom
How many subscribers pay over {} a month? | fifty bucks | $50
What was the spend in {}? | the first quarter | Q1
How many shifts were longer than {}? | twelve hours | 12h
How many calls lasted less than {}? | a minute | 60 seconds
How many kWh did we use in {}? | wk 12 | week 12
Show sales from {} onwards | 1 Jan | January 1st
How many calls came in over the {}? | last 48 hours | past two days
Show me accounts with balances over {} | 1M | a million
What happened to signups in the {}? | first week of the year | first seven days of January
How many shipments took more than {}? | three weeks | 21 days
How many orders were above {}? | 250 dollars | $250
Show transactions from the {} | last 90 days | past three months
Which employees have been here more than {}? | five years | 5 yrs
How many units did we sell at {} off? | 20% | twenty percent
How much did we spend in the {}? | 1st quarter | first quarter
How many flights were delayed by over {}? | an hour and a half | 90 minutes
How many tickets waited longer than {}? | a week | seven days
Show me data for {} | Q2 | April to June
How many students scored {}? | 100 percent | full marks
What's the average cost of a {} shipment? | 10-kilo | ten kilogram
How many guests stayed more than {}? | a week | 7 nights
How many leads did we get in {}? | H1 | January to June
"""

REORDER = r"""
How many orders did we ship to Canada last month? || Last month, how many orders did we ship to Canada?
In the Berlin office, who is on parental leave? || Who is on parental leave in the Berlin office?
Which carriers were late more than twice in March? || In March, which carriers were late more than twice?
For enterprise accounts, what was churn in Q2? || What was churn in Q2 for enterprise accounts?
The Acme invoice was approved by which manager? || Which manager approved the Acme invoice?
Was the server patched by the infra team last night? || Did the infra team patch the server last night?
How many tickets were closed by the support team today? || How many tickets did the support team close today?
The Q3 budget was signed off by whom? || Who signed off the Q3 budget?
By region, what's our average deal size? || What's our average deal size by region?
Among new customers, what share used a coupon? || What share of new customers used a coupon?
Which patients were discharged by Dr. Lee this week? || This week, which patients did Dr. Lee discharge?
How much was paid out in claims by the insurer in 2023? || How much did the insurer pay out in claims in 2023?
At the Leeds depot, how many trucks are idle? || How many trucks are idle at the Leeds depot?
Excluding returns, what were net sales yesterday? || What were net sales yesterday, excluding returns?
Was the contract reviewed by legal before signing? || Did legal review the contract before it was signed?
In the last 30 days, which ads had the best CTR? || Which ads had the best CTR in the last 30 days?
When was the lease on unit 5 renewed by the tenant? || When did the tenant renew the lease on unit 5?
How many hectares were planted with corn by the co-op this year? || How many hectares did the co-op plant with corn this year?
For the spring catalog, which SKUs are new? || Which SKUs are new for the spring catalog?
Which articles were edited by Sam yesterday? || Yesterday, which articles did Sam edit?
Which players were banned by the anti-cheat system this week? || This week, which players did the anti-cheat system ban?
For customers in Spain, how many used Bizum to pay? || How many customers in Spain paid with Bizum?
Were the permits issued by the city before June? || Did the city issue the permits before June?
Per warehouse, how many pick errors were there last week? || How many pick errors were there last week per warehouse?
Which calls were escalated by agents to supervisors today? || Today, which calls did agents escalate to supervisors?
On weekends, what's the average hotel rate in Porto? || What's the average hotel rate in Porto on weekends?
Was the new tariff approved by the regulator? || Did the regulator approve the new tariff?
Which students were graded by Ms. Ortiz? || Which students did Ms. Ortiz grade?
For line 3, what was downtime in hours yesterday? || How many hours of downtime did line 3 have yesterday?
Which employees were trained on the new system by IT? || Which employees did IT train on the new system?
Which invoices were rejected by finance last week? || Last week, which invoices did finance reject?
In Q2, how many tickets breached SLA? || How many tickets breached SLA in Q2?
Across all stores, what was total footfall on Saturday? || What was total footfall on Saturday across all stores?
Was the refund processed by the bank yet? || Has the bank processed the refund yet?
Which deploys were rolled back by the SRE team? || Which deploys did the SRE team roll back?
For the Madrid hotel, what's the average rate this month? || What's the average rate this month for the Madrid hotel?
Which claims were denied by the insurer in May? || In May, which claims did the insurer deny?
Were the tractors serviced by the dealer this spring? || Did the dealer service the tractors this spring?
How many podcasts were produced by the studio last year? || How many podcasts did the studio produce last year?
On mobile, what's our checkout conversion rate? || What's our checkout conversion rate on mobile?
Which routes were cancelled by the airline for winter? || Which routes did the airline cancel for winter?
During the outage, how many orders failed? || How many orders failed during the outage?
Which bills were passed by the senate this session? || This session, which bills did the senate pass?
Which homes were inspected by the surveyor this week? || Which homes did the surveyor inspect this week?
For each plant, what was energy use in March? || What was energy use in March for each plant?
"""

NEAR = r"""
Which customers placed more than one order? || which customers placed more than one order
What is the status of order 5521? || what's the status of order 5521
How many users do we have? || How many users do we have ??
Show me the sales report for May. || show me the sales report for may
What's the refund policy? || What is the refund policy?
Can't log into the VPN, what do I do? || I cannot log into the VPN, what do I do?
How do I update my address? || How do I update my address
Where's the nearest pharmacy? || Where is the nearest pharmacy?
What's our return window? || What is our return window?
List the open POs || List the open POs.
Who's on leave today? || Who is on leave today?
How many invoices are unpaid? || how many invoices are unpaid?
What time does the store close? || what time does the store close
When's the next board meeting? || When is the next board meeting?
Show me the Q2 forecast || Show me the Q2 forecast please
How do I request a new laptop? || how do i request a new laptop?
What are the office hours? || What're the office hours?
Don't we have a holiday on Friday? || Do we not have a holiday on Friday?
Which trucks are in the yard? || Which trucks are in the yard right now?
What is the price of the basic plan? || What's the price of the basic plan?
How many patients are in the waiting room? || How many patients are in the waiting room right now?
What's the Wi-Fi password? || whats the wifi password
How do I print double-sided? || How do I print double sided?
Is the e-mail server down? || Is the email server down?
What is the check-in time? || What's the checkin time?
Who is our contact at Acme? || Who's our contact at Acme?
Show me last month's invoices || Show me the invoices from last month
What are the tax rates for 2024? || What are the tax rates for 2024
How do I set up direct deposit? || How do I set up a direct deposit?
Where do I find the holiday calendar? || Where do I find the holiday calendar ?
"""


def near_repeat_auto(qs, rng):
    """Mechanical near repeats of canonical paraphrase bases."""
    out = []
    contractions = [("What is ", "What's "), ("Who is ", "Who's "), ("When is ", "When's "),
                    ("Where is ", "Where's "), ("How is ", "How's "), ("do not", "don't")]
    for q in qs:
        variants = []
        for a, b in contractions:
            if a in q:
                variants.append(q.replace(a, b))
            elif b in q:
                variants.append(q.replace(b, a))
        variants.append(q.rstrip("?.") )
        variants.append(q.lower())
        variants.append(q.rstrip("?.") + " ?")
        variants.append(q.replace("?", "??"))
        v = rng.choice([x for x in variants if x != q])
        out.append(pair(q, v, True, "near_repeat"))
    return out


def politeness_auto(qs, rng):
    """Greetings, thanks, 'quick question', context sentences that do not change the ask."""
    out = []
    for q in qs:
        kind = rng.choice(["prefix", "context", "suffix", "polite", "filler"])
        v = style(q, rng, kind)
        if v != q:
            out.append(pair(q, v, True, "reorder_politeness"))
        # a context-wrapped vs politely-wrapped version of the same question
        v1 = rng.choice(CONTEXTS) + q[0].lower() + q[1:]
        v2 = style(q, rng, rng.choice(["suffix", "prefix", "polite"]))
        out.append(pair(v1, v2, True, "reorder_politeness"))
    return out


def generate(rng):
    out = []
    out += substitution_trues(parse_lines(SYNONYM), "synonym_abbrev", rng, per_entry=3)
    out += explicit_pairs(ROLE_TITLE, True, "role_title_vs_verb", rng, per_entry=3)
    out += explicit_pairs(FIXED, True, "fixed_phrase", rng, per_entry=3)
    out += substitution_trues(parse_lines(NUMBERS), "number_two_ways", rng, per_entry=3)
    out += explicit_pairs(REORDER, True, "reorder_politeness", rng, per_entry=3)
    out += explicit_pairs(NEAR, True, "near_repeat", rng, per_entry=2)
    qs = bases()
    out += near_repeat_auto(qs, rng)
    out += politeness_auto(qs, rng)
    return out


if __name__ == "__main__":
    ps = generate(random.Random(1))
    import collections
    print(collections.Counter(p["category"] for p in ps), len(ps))
