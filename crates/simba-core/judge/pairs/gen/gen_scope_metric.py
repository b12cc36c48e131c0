"""scope_modifier, changed_metric / changed_aggregation and entity/number/date
traps. Lines: 'template | phrase_A | phrase_B'."""
import random
from common import parse_lines, substitution_traps

SCOPE = r"""
How many {} users logged in last week? | paying | trial
What's the average order value {}? | in the EU | outside the EU
Show revenue {} for Q2 | in the EU | in every region but the EU
How many {} customers placed an order in March? | active | churned
What's the conversion rate for {} visitors? | new | returning
How many {} shipments were delayed this month? | domestic | international
What's the average basket size for {} buyers? | first-time | repeat
How many {} emails were flagged as phishing? | internal | external
How many {} contractors are on the payroll? | full-time | part-time
What were sales on {} in June? | weekdays | weekends
How many {} tickets are assigned to the billing team? | open | closed
Show me orders {} from Germany | only | except those
What was total revenue last quarter {}? | including refunds | excluding refunds
List customers with {} 3 orders this year | at least | at most
Show the {} 10 products by margin | top | bottom
What was our {} revenue in 2023? | gross | net
What's the cloud cost {} last month? | per user | in total
What's the {} time to resolve a P1 incident? | median | mean
What were sales at {} yesterday? | this store | all stores
How many sessions came from {} this week? | mobile | desktop
How many {} patients missed appointments? | insured | uninsured
What's the churn rate for {} accounts? | enterprise | SMB
How many {} employees took sick leave in May? | salaried | hourly
What's the default rate on {} loans? | secured | unsecured
How many {} policies were renewed in April? | auto | home
How many {} students passed the final exam? | undergraduate | postgraduate
How many {} orders were returned? | online | in-store
What's the energy use of {} customers? | residential | commercial
How many {} units are vacant right now? | furnished | unfurnished
What's the CTR on {} ads? | search | display
How many {} contracts expire this year? | fixed-price | time-and-materials
How many {} guests stayed last weekend? | business | leisure
How many {} subscribers were added in Q1? | prepaid | postpaid
How many {} permit applications are pending? | residential | commercial
How many {} players logged in yesterday? | free-to-play | paying
What's the yield on {} wheat fields? | irrigated | rain-fed
How many {} articles were published last month? | paywalled | free
How many {} pods are running in the cluster? | healthy | crashing
How many {} builds ran on the CI yesterday? | successful | failed
What's the average salary of {} engineers? | senior | junior
How many {} SKUs are out of stock? | seasonal | core
What's the average claim size for {} drivers? | young | older
How many {} deliveries were made on time? | same-day | next-day
What's the pass rate for {} candidates? | internal | external
How many {} vehicles are in the fleet? | electric | diesel
How many {} bookings did we get in July? | direct | OTA
What's the average rent for {} apartments? | one-bedroom | two-bedroom
How many {} calls were dropped yesterday? | 4G | 5G
How many {} applications were processed this week? | online | paper
What share of {} users opened the email? | iOS | Android
Show me all {} invoices for Acme | paid | unpaid
List {} employees in the Berlin office | remote | on-site
How many {} vendors did we pay last month? | approved | unapproved
What's the retention rate of {} cohorts? | organic | paid
Revenue from {} customers last year | the top 20 | all but the top 20
How many orders were placed {} business hours? | during | outside
How many refunds were issued {} 30 days of purchase? | within | after
How many patients were seen {} 4 hours in the ER? | within | beyond
Show employees {} the probation period | in | past
How many tickets were answered {} SLA? | within | outside
What was the spend {} the approved budget? | within | above
List customers {} the loyalty program | in | not in
Which products are sold {} our own website? | only on | everywhere except
How many calls came from {} the US? | inside | outside
How many sessions had {} one page view? | exactly | more than
What's the revenue from customers {} the age of 30? | under | over
How many accounts have a balance {} 10k? | above | below
How many flights departed {} schedule yesterday? | ahead of | behind
List orders {} free shipping | with | without
Show users {} two-factor authentication | with | without
How many homes {} solar panels are on the network? | with | without
How many employees {} a company car are there? | with | without
What's the sales tax on {} food? | prepared | unprepared
How many {} bugs are in the backlog? | critical | minor
How many {} hires did we make in Q2? | technical | non-technical
What's the average tenure of {} staff? | current | former
How many {} members renewed this year? | gold | silver
How many {} jobs failed overnight? | scheduled | ad hoc
How many {} rooms are booked for Friday? | standard | suite
How many {} products had price changes? | private-label | branded
Show {} transactions over 1000 dollars | card | cash
How many {} trades were executed today? | buy-side | sell-side
How many {} visits happened last week? | in-person | virtual
What's the average delivery time for {} orders? | express | standard
How many {} posts got more than 100 likes? | organic | sponsored
Average sale price of {} homes in Austin | new-build | existing
How many {} loans were issued in March? | first-lien | second-lien
How many {} staff completed the training? | clinical | non-clinical
How many {} devices are enrolled in MDM? | corporate-owned | personal
How many {} customers called support this week? | VIP | standard
Show me sales {} the holiday promo | with | without
What is the turnover rate among {} staff? | warehouse | office
How many tickets were raised {} customers? | by | about
How many {} students got scholarships? | in-state | out-of-state
How many {} meters were read last month? | smart | analog
How many {} farms applied for the subsidy? | organic | conventional
How many {} did the webinar generate? | leads | qualified leads
How many {} accounts were flagged for fraud? | personal | business
What's the average session length for {} users? | logged-in | anonymous
Which {} employees haven't done security training? | permanent | temporary
How many {} customers used a discount code? | domestic | overseas
How many {} units sold in the north region? | refurbished | new
What's the failure rate of {} tests? | unit | integration
Show {} feedback from the last survey | positive | negative
How many {} applicants got an interview? | referred | non-referred
How many cars in {} lots are parked right now? | staff | visitor
What was {} traffic to the site yesterday? | bot | human
How many {} orders were cancelled? | prepaid | cash-on-delivery
What's the average age of {} patients? | male | female
How many {} tickets came in via chat? | urgent | low-priority
What's the revenue from {} subscriptions? | monthly | annual
How many {} properties are in the portfolio? | leasehold | freehold
How many {} players bought the battle pass? | returning | new
What's the spend on {} media? | owned | paid
How many {} contracts did legal review? | standard | non-standard
How many {} trips were booked this month? | solo | group
How many {} accounts have unpaid bills? | landline | mobile
How many {} benefit claims were made? | first-time | repeat
What's the average price of {} eggs? | free-range | caged
How many {} stories ran on the front page? | local | national
How many {} customers took the survey? | satisfied | dissatisfied
What was the uptime of {} services last month? | tier-1 | tier-3
How many vendors {} the preferred list got paid late? | on | off
What's the total payroll for {} staff? | unionized | non-union
How many {} sessions led to a purchase? | first | return
How many {} shipments needed a customs declaration? | inbound | outbound
How many students {} the district attend our schools? | inside | outside
Which SKUs sold {} 100 units last week? | more than | fewer than
How many patients waited {} two hours? | less than | more than
How many homes sold {} asking price? | above | below
List accounts {} the credit limit | within | over
How many employees live {} 10 miles of the office? | within | more than
How many claims were filed {} the policy start date? | within a month of | a year after
Show me tickets {} an assignee | with | without
How many devices are {} the latest OS? | on | not on
List campaigns {} the EU | targeting | not targeting
How many players are {} level 10? | below | above
Show products {} the clearance section | in | outside
What's our churn {} annual contracts? | on | excluding
How many users logged in {} the last 30 days? | at least once in | not once in
Which stores are {} profitable? | consistently | rarely
How many staff worked {} 40 hours last week? | over | under
Show me orders shipped {} the promised date | on or before | after
How many invoices were paid {} terms? | within | outside
Which teams hit {} of their OKRs? | all | none
How many flights had {} seats empty? | no | some
Revenue from customers {} their first year | in | past
How many trucks are {} the weight limit? | under | over
Which warehouses are {} capacity? | below | at
Show employees {} a manager assigned | with | without
How many hospital beds are {} right now? | occupied | free
What's the median income {} the metro area? | in | outside
How many {} farmers got the grant? | smallholder | large-scale
How many {} articles did we syndicate? | opinion | news
How many {} customers are on autopay? | residential | business
What's the refund rate for {} sales? | full-price | discounted
How many {} employees got a bonus? | eligible | ineligible
How many {} employees are in the Paris office? | French | non-French
What's the spend on {} suppliers? | local | foreign
How many {} guests left a review? | loyalty | non-loyalty
What's the average order value for {} shoppers? | app | web
How many {} loans are in arrears? | student | auto
How many {} trucks failed inspection? | leased | owned
How many {} emails bounced last week? | marketing | transactional
How many {} users reported bugs? | beta | production
How many {} nurses work weekends? | agency | staff
What's the completion rate of {} courses? | mandatory | optional
How many {} buildings need a fire inspection? | high-rise | low-rise
How many {} orders went out on Monday? | wholesale | retail
What's the margin on {} products? | own-brand | third-party
How many {} farms use drip irrigation? | dairy | arable
How many {} readers renewed this year? | print | digital
How many {} plans were sold in May? | family | individual
How many {} employees got a raise? | unionised | non-union
How many {} claims were paid in full? | dental | vision
Show me {} accounts with no activity | dormant | recently reopened
How many {} players have voice chat on? | adult | under-18
How many {} shipments were insured? | high-value | low-value
How many {} hires came through referrals? | senior | entry-level
How many {} schools met the target? | rural | urban
Show {} spend for last quarter | capex | opex
How many {} patients had a follow-up? | post-surgery | outpatient
How many calls were answered {} the first minute? | within | after
List customers {} the free trial | still in | who finished
How many employees work {} the head office? | at | away from
How many tickets were closed {} customer confirmation? | with | without
Show invoices {} VAT | including | excluding
What's revenue {} shipping fees? | including | net of
How many orders used {} one coupon? | exactly | more than
Which regions grew {} 10% this year? | by more than | by less than
How many flights landed {} midnight? | before | after
How many users are {} the free plan? | on | off
Show staff {} overtime approval | with | without
How many contracts are {} auto-renewal? | on | not on
How many players are {} a clan? | in | not in
How many farms are {} the flood zone? | inside | outside
How many listings are {} 500k? | under | over
"""

METRIC = r"""
What's the {} of orders last month? | count | total value
How {} did we sell in Berlin last week? | many units | much
What was the {} page load time yesterday? | average | maximum
Show {} by region for 2023 | revenue | profit
What's the API {} today? | latency | throughput
What was the {} deal size in Q3? | average | largest
How {} refunds did we issue in May? | many | much in
What's the {} for the checkout service? | error rate | request volume
What's the {} on the Acme account? | revenue | margin
Show me {} per campaign | impressions | clicks
What's our {} this quarter? | burn rate | runway
What's the {} of the warehouse? | capacity | utilization
Give me the {} of tickets per agent | number | average handle time
What's the {} salary in the sales team? | average | total
How {} overtime did nurses work in March? | much | often
What was the {} on the bond? | yield | price
What's the {} for the Lisbon hotel this month? | occupancy | average daily rate
Show the {} of the EU region | headcount | payroll cost
What was the {} temperature in the server room yesterday? | peak | lowest
What's the {} on the 5G network? | download speed | coverage
What's the {} of active players this week? | number | average playtime
What's the {} per hectare this season? | yield | input cost
What's the {} for our newsletter? | open rate | unsubscribe rate
What was the {} of the audit? | cost | duration
Show the {} by product line | units sold | return rate
What's the {} of our fleet? | average age | size
What's the {} for the new hires? | starting salary | time to productivity
Show the {} of support tickets this week | volume | backlog
What's the {} of our loan book? | size | default rate
What was the {} of the Super Bowl ad? | cost | reach
Show me {} per sales rep | quota attainment | pipeline value
What's the {} for electricity this month? | total usage | peak demand
What's the {} of the Q3 campaign? | ROI | spend
What's the {} on the ticket queue? | oldest ticket | ticket count
Show the {} of our inventory | value | turnover
What's the {} for homes in Denver? | median price | number of sales
What's the {} of the build? | duration | success rate
What was our {} in June? | cash balance | cash burn
What's the {} of the chemo ward? | bed count | occupancy
What's the {} for subscribers? | churn | ARPU
What's the {} on our YouTube channel? | watch time | view count
What's the {} in the East region? | headcount | attrition
What was the {} of orders per customer last year? | sum | average
What's the {} spent by each department? | total | monthly average
What's the {} number of rooms booked per night? | average | maximum
What's the {} of the delivery fleet? | fuel cost | mileage
What's the {} per patient visit? | cost | wait time
What's the {} rate on outbound calls? | answer | conversion
What was the {} of the game's launch week? | revenue | player count
What's the {} on feed for the dairy herd? | spend | volume
What's the {} per article? | average read time | page views
What's the {} on the homepage? | bounce rate | conversion rate
How {} did our biggest customer spend in March? | much | often
What was the {} of the Berlin store? | footfall | revenue
Show me the {} per warehouse | pick rate | error rate
What's the {} for the claims team? | backlog | average settlement time
What's the {} on our savings account? | interest rate | balance
What's the {} of the average support call? | length | satisfaction score
Show the {} of each product line | gross margin | sales volume
What's the {} in the ICU? | mortality rate | average stay
What's the {} of our biggest supplier? | on-time rate | invoice total
What was the {} for the webinar? | attendance | registration count
Show me the {} by country | number of orders | total order value
What's the {} of completed orders? | count | total value
What was the {} deal we closed in Q2? | biggest | smallest
How many hours did the {} shift run? | longest | shortest
What's the {} number of items per order? | average | maximum
Show {} transaction value by day | total | average
What was the {} wait time at the DMV today? | longest | average
What's the {} price of a home in Denver? | median | average
What's the {} daily temperature in the greenhouse? | maximum | minimum
Show the {} invoice amount per customer | highest | lowest
What's the {} commute time for staff? | median | longest
What's the {} of our cloud bill? | total | growth rate
Show the {} of hires per month | number | cost
How many {} visits did the site get? | unique | total
What's the {} rent in the building? | lowest | highest
What's the {} order size per customer? | typical | largest
What's the {} of our mobile app? | rating | download count
Show me {} for the spring sale | units sold | discount cost
What's the {} on the loan portfolio? | yield | delinquency rate
What's the {} of the maternity ward? | readmission rate | birth count
What's the {} for parcels to Spain? | transit time | shipping cost
What's the {} of the new course? | enrollment | completion rate
What's the {} of line 1 this week? | output | defect rate
What's the {} for the wind farm this month? | capacity factor | revenue
What's the {} of the downtown listings? | average price | average size
What's the {} of the retargeting campaign? | frequency | reach
What was the {} of the settlement? | amount | payment schedule
What's the {} of the resort in August? | occupancy | RevPAR
What's the {} on our fibre network? | uptime | subscriber count
What's the {} at the passport office? | wait time | approval rate
What's the {} of the new season? | retention | revenue
What's the {} per dairy cow? | milk yield | feed cost
What's the {} of our podcast? | download count | completion rate
How {} tickets did the help desk close today? | many | quickly
What was the {} of last night's batch job? | runtime | row count
What's the {} of the sales team? | win rate | quota
What's the {} for new employees? | retention rate | training cost
Show the {} of orders by hour | count | total value
What's the {} length of a support chat? | average | longest
What was the {} daily sales figure in May? | highest | average
What's the {} claim amount this year? | total | largest
"""

ENTITY = r"""
What was Acme's revenue in {}? | 2022 | 2021
How many tickets did {} close last week? | Maria | Mark
How many orders did we ship to {} in May? | Canada | Mexico
What's the stock level of {} in the Leeds store? | SKU 4411 | SKU 4412
How many patients did {} see on Monday? | Dr. Patel | Dr. Singh
Show me the P&L for the {} branch | Austin | Dallas
How many deploys did we do in {}? | March | April
Which customers spent more than {} last year? | 5,000 dollars | 50,000 dollars
How many users signed up in the last {} days? | 7 | 30
What was the peak load on {}? | Black Friday | Cyber Monday
How many claims came from {} policyholders? | Texas | Florida
How many flights to {} were delayed yesterday? | Chicago | Atlanta
What's the rent for unit {}? | 4B | 4C
How many players reached level {}? | 50 | 60
What's the yield for {} this season? | corn | soybeans
How many listeners did the {} episode get? | Tuesday | Thursday
What was the churn in {} 2024? | Q1 | Q2
How many hires did the {} team make? | design | data
How many {} cars did we sell last month? | Tesla | BMW
How many trucks left the {} depot? | Memphis | Nashville
Show me invoices over {} | 10,000 | 1,000
How many rooms were free on {}? | Friday | Saturday
What's the data usage of the {} plan? | 20GB | unlimited
How many calls did the {} office take? | Manila | Dublin
What was the turnout in the {} election? | 2020 | 2016
How many returns did the {} store process last week? | Leeds | York
What's the stock price of {} today? | Apple | Microsoft
How many patients were admitted to {} yesterday? | St Mary's | St John's
Show me the contract with {} | Initech | Umbrella Corp
How many tickets are assigned to {}? | Priya | Pedro
What was our revenue in {}? | Germany | France
How many students failed {}? | Calculus I | Calculus II
What's the lead time for {} from our supplier? | aluminium | copper
How many homes sold in {} last month? | Brooklyn | Queens
What's the open rate on the {} newsletter? | Monday | Friday
How many units are vacant at {}? | 20 Oak Street | 22 Oak Street
What's the delivery status of order {}? | 10452 | 10425
How many hotel nights did we sell in {}? | Prague | Vienna
What's the balance on account ending {}? | 4471 | 4417
How many players joined in season {}? | 3 | 4
How many kWh did building {} use? | A | B
How many visas did the {} consulate issue? | Mumbai | Delhi
What did we pay for the {} license? | Tableau | Looker
What's the yield on the {} treasury? | 10-year | 2-year
How many complaints were logged in {}? | week 14 | week 41
Show invoices from {} | 2019 | 2018
How many orders came in on {}? | Christmas Eve | New Year's Eve
What was the attendance at the {} game? | home opener | season finale
How many trucks are assigned to route {}? | 7 | 17
What is the price of the {} plan? | Starter | Growth
How many loans did the {} branch approve? | Camden | Hackney
How many downloads did {} get last month? | episode 12 | episode 21
What's the capacity of {}? | warehouse 3 | warehouse 8
How many passengers flew with us in {}? | August | September
How many orders were over {}? | 100 dollars | 200 dollars
List employees hired after {} | 2020 | 2022
How many claims exceeded {}? | 10,000 | 100,000
How many pods are in the {} namespace? | payments | search
Show me sales for the last {} | 3 months | 6 months
What was the temperature in cold room {} overnight? | 2 | 5
How many tenants are behind on rent by more than {}? | one month | two months
What's the average score on the {} exam? | June | January
How many acres of {} did we plant? | barley | oats
How many subscribers does the {} podcast have? | morning | evening
What's the commute time from {} to the office? | Hoboken | Newark
How many drivers scored below {} on safety? | 70 | 80
How many employees are over {}? | 50 | 60
What was the conversion rate on {}? | Prime Day | Black Friday
How many tickets did level {} support escalate? | 1 | 2
What's the headcount in {}? | Singapore | Sydney
How many flights were cancelled on {}? | the 3rd | the 13th
What did we spend on the {} offsite? | 2023 | 2024
How many licences did we buy for {}? | Figma | Miro
How many patients are on the {} waiting list? | hip replacement | knee replacement
"""


def generate(rng):
    out = []
    out += substitution_traps(parse_lines(SCOPE), "scope_modifier", rng, per_entry=3,
                              reword_cat="scope_modifier_reworded", reword_rate=0.5)
    agg_words = ("average", "maximum", "largest", "total", "sum", "count", "peak",
                 "lowest", "number", "many", "much", "median", "mean", "biggest", "smallest",
                 "longest", "shortest", "highest", "minimum", "typical", "unique")
    met = parse_lines(METRIC)
    agg = [e for e in met if any(w in e[1] for w in agg_words) and any(w in e[2] for w in agg_words)]
    rest = [e for e in met if e not in agg]
    out += substitution_traps(agg, "changed_aggregation", rng, per_entry=3,
                              reword_cat="changed_aggregation_reworded", reword_rate=0.5)
    out += substitution_traps(rest, "changed_metric", rng, per_entry=3,
                              reword_cat="changed_metric_reworded", reword_rate=0.5)
    out += substitution_traps(parse_lines(ENTITY), "entity_number_date", rng, per_entry=3,
                              reword_cat="entity_number_date", reword_rate=0.4)
    return out


if __name__ == "__main__":
    ps = generate(random.Random(1))
    import collections
    print(collections.Counter(p["category"] for p in ps))
